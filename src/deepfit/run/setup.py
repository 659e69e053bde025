"""The one set-up path from a validated `RunConfig` to a Trainer: device, splits, model, update rule, callbacks.

`deepfit train`, `lr-find`, `pretrain`, `prune`, sweeps and studies all start here, so a setting means the
same thing everywhere. This is the only place below the CLI that reads configuration objects; it turns them
into the plain arguments of `deepfit.train`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from deepfit.config import RunConfig, TrainConfig
from deepfit.data import DATASETS, Splits, from_torch, load_data
from deepfit.data.augment import build_augment
from deepfit.data.partition import draws_with_seed
from deepfit.data.tasks import OWN_SPLIT_DATASETS
from deepfit.data.torch_data import TorchData
from deepfit.errors import ConfigError, DeviceError
from deepfit.nn import FactorySpec, ModelSpec, build_factory_model, build_model, factory_spec
from deepfit.optim import Plateau, Schedule, build_schedule, resolve_hyperparameters
from deepfit.train import Callback, EarlyStopping, ProgressBar, ReduceLROnPlateau, Trainer, UpdateRule, objective_for
from deepfit.train.batches import steps_per_epoch
from deepfit.train.seeding import seed_everything


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when present; asking for CUDA without it is a `DeviceError`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"train.device: expected auto, cpu, cuda or cuda:N, got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"train.device is {name!r} but no CUDA device is available; use --device cpu")
    return device


def load_splits(cfg: RunConfig) -> Splits:
    d = cfg.data
    return load_data(
        d.name, dir=d.dir, path=d.path, valid=d.valid, test=d.test, split=d.split, subset=d.subset,
        standardize=d.standardize,
        seed=cfg.train.seed, task=d.task, label_column=d.label_column, labels=d.labels, image_size=d.image_size,
        channels=d.channels, options=d.options,
    )


def split_seed(cfg: RunConfig) -> int | None:
    """The seed `load_splits(cfg)`'s rows depend on, or None when every seed gets the same rows (`data.split =
    "first"`, or Fashion-MNIST's own split): what sweeps and studies may share between members of other seeds."""
    d = cfg.data
    own_split = d.name in DATASETS and DATASETS.canonical(d.name) in OWN_SPLIT_DATASETS
    return cfg.train.seed if draws_with_seed(d.split, d.valid, own_split=own_split) else None


def data_budget() -> int:
    """Bytes a dataset given from Python may take as float32: half the host's free memory, where it is held
    (on an accelerator too: what does not fit there streams from the host, train/placement.py), leaving the
    rest to everything else."""
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2


def torch_splits(cfg: RunConfig, data: TorchData, test_data: TorchData | None) -> Splits:
    """The splits of a `Dataset`/`DataLoader` given from Python, split and standardised as `cfg.data` says."""
    d = cfg.data
    return from_torch(data, test_data, max_bytes=data_budget(), valid=d.valid, test_split=d.test, split=d.split,
                      subset=d.subset, standardize=d.standardize, seed=cfg.train.seed, task=d.task)


def model_spec(cfg: RunConfig, splits: Splits, *, directory: Path | None = None) -> ModelSpec | FactorySpec:
    """The network `cfg.model` describes for `splits`' inputs and classes (unset fields: `ModelSpec`'s defaults),
    or the spec of its `model.factory`; with `directory` (a run's, when resuming) a file factory is read from
    the run's copy of it."""
    outputs = int(splits.num_classes if cfg.data.task == "multiclass" else 1)
    m = cfg.model
    if m.factory is not None:
        return factory_spec(m.factory, tuple(splits.input_shape), outputs, m.options, directory=directory)
    return ModelSpec(input_shape=tuple(splits.input_shape), num_outputs=outputs, **m.spec_options())


def dense_spec(cfg: RunConfig, splits: Splits, what: str) -> ModelSpec:
    """`model_spec` for the commands that work on the dense network's layers; a factory model is refused.

    Raises:
        ConfigError: `cfg.model` names a factory (the message says `what` needs the dense network).
    """
    spec = model_spec(cfg, splits)
    if isinstance(spec, FactorySpec):
        raise ConfigError(f"{what} works on deepfit's dense network, but model.factory = {spec.factory!r} builds "
                          "your own; remove model.factory to use it")
    return spec


def build_member(cfg: RunConfig, spec: ModelSpec | FactorySpec, directory: Path | None = None) -> torch.nn.Module:
    """The model of `spec`, initialised from `cfg.train.seed` (the same weights whether trained alone or in a group).

    A factory's network is checked on a dummy batch (`deepfit.nn.factory.check_outputs`); `directory` is
    where its saved source copy lies, when resuming.
    """
    seed_everything(cfg.train.seed)
    if isinstance(spec, FactorySpec):
        return build_factory_model(spec, directory)
    return build_model(spec)


def schedule_length(epochs: int, train_size: int, batch_size: int, interval: str, *, drop_last: bool = False) -> int:
    """Scheduled steps in a run: optimizer steps (epochs x batches per epoch), or epochs with interval="epoch"."""
    return epochs * (steps_per_epoch(train_size, batch_size, drop_last=drop_last) if interval == "step" else 1)


def run_lr(cfg: RunConfig) -> float:
    """The run's learning rate: `optimizer.lr`, or the optimizer's default when it is not set."""
    return float(resolve_hyperparameters(cfg.optimizer.name, cfg.optimizer.params())["lr"])


def run_schedule(cfg: RunConfig, train_size: int | None, *, has_valid: bool = True
                 ) -> tuple[Schedule | None, list[Callback]]:
    """The schedule `cfg` names, spanning the whole run, or for `performance` the callback that applies it.

    Schedules that need the run length (one_cycle, cosine, exponential's default s) get `schedule_length`,
    which needs the training-set size; without it they raise a `ConfigError`.
    """
    sc, t = cfg.schedule, cfg.train
    if sc.name == "constant" and not sc.params():
        return None, []
    total = (schedule_length(t.epochs, train_size, t.batch_size, sc.interval, drop_last=t.drop_last)
             if train_size is not None else None)
    schedule = build_schedule(sc.name, run_lr(cfg), total_steps=total, **sc.params())
    if isinstance(schedule, Plateau):
        try:
            plateau = ReduceLROnPlateau(**schedule.params)
        except TypeError as exc:  # a parameter ReduceLROnPlateau does not have
            raise ConfigError(f"schedule 'performance': {exc}") from None
        if not has_valid:
            plateau.monitor = plateau.monitor.removeprefix("val_")
        return None, [plateau]
    return schedule, []


def update_rule(
    cfg: RunConfig, splits: Splits, *, masks: Mapping[str, torch.Tensor] | None = None,
    lr_factors: Mapping[str, float] | None = None,
) -> tuple[UpdateRule, list[Callback]]:
    """The update rule `cfg` describes (optimizer, schedule, penalty, clipping, max-norm), and the callback
    of performance scheduling when `cfg` asks for it."""
    has_valid = splits.valid is not None and len(splits.valid) > 0
    schedule, callbacks = run_schedule(cfg, len(splits.train), has_valid=has_valid)
    reg, clip = cfg.regularization, cfg.clip
    rule = UpdateRule(
        optimizer=cfg.optimizer.name,
        params=cfg.optimizer.params(),
        schedule=schedule,
        schedule_interval=cfg.schedule.interval,
        penalty=reg.penalty,
        penalty_layers=dict(reg.layers),
        clip=clip.name if clip is not None else None,
        clip_threshold=clip.threshold if clip is not None else None,
        max_norm=reg.max_norm_params(),
        lr_factors=dict(lr_factors or {}),
        masks=dict(masks or {}),
    )
    return rule, callbacks


def augmentation(cfg: RunConfig, splits: Splits, device: torch.device) -> Any:
    """The training-batch augmentation of `[regularization.augment]` (None when off), on `device`."""
    aug = cfg.regularization.augment
    if aug is None:
        return None
    mean = None if splits.mean is None else splits.mean.to(device)
    std = None if splits.std is None else splits.std.to(device)
    return build_augment(splits.input_shape, mean=mean, std=std, **aug.params())


def run_callbacks(cfg: RunConfig, splits: Splits, *, quiet: bool = True) -> list[Callback]:
    """Early stopping as `cfg.train.early_stopping` says (watching training figures without a validation
    split) and, unless `quiet`, the progress bar (in `train.log_format`'s style, saying first what an
    automatic `data.valid` chose)."""
    callbacks: list[Callback] = []
    es = cfg.train.early_stopping
    if es is not None:
        stopper = EarlyStopping(**es.options())
        if splits.valid is None or not len(splits.valid):
            stopper = EarlyStopping(**{**es.options(), "monitor": stopper.monitor.removeprefix("val_")})
        callbacks.append(stopper)
    if not quiet:
        split = splits.valid_split
        notices = [split.describe()] if split is not None else []  # what the data was split into: once, before epoch 1
        callbacks.append(ProgressBar(style=cfg.train.log_format, notices=notices))
    return callbacks


def stream_option(t: TrainConfig) -> bool | None:
    """`train.stream` as the Trainer and `should_stream` take it: True, False, or None for "auto"."""
    return None if t.stream == "auto" else t.stream


def eval_batch_option(t: TrainConfig) -> int | None:
    """`train.eval_batch_size` as the Trainer takes it: a count, or None for "auto"."""
    return None if t.eval_batch_size == "auto" else t.eval_batch_size


def build_trainer(
    cfgs: RunConfig | Sequence[RunConfig],
    models: torch.nn.Module | Sequence[torch.nn.Module],
    splits: Splits,
    device: torch.device,
    callbacks: Sequence[Callback] = (),
    *,
    masks: Mapping[str, torch.Tensor] | None = None,
    lr_factors: Mapping[str, float] | None = None,
    **options: Any,
) -> Trainer:
    """A Trainer for one config and model, or for K configs and their models trained at once.

    The K configs must agree on everything but the numbers a member may have of its own (see
    `run.sweep.group_key`); each member gets its own update rule and seed. `options` go to the Trainer
    (e.g. `initial_epoch`, `history`).
    """
    many = not isinstance(cfgs, RunConfig)
    configs = list(cfgs) if many else [cfgs]
    rules, extra = [], []
    for c in configs:
        rule, plateau = update_rule(c, splits, masks=masks, lr_factors=lr_factors)
        rules.append(rule)
        extra = plateau
    t = configs[0].train
    options.setdefault("stream", stream_option(t))
    return Trainer(
        list(models) if many else models,
        objective_for(t.loss, configs[0].data.task),
        rules if many else rules[0],
        batch_size=t.batch_size,
        callbacks=[*callbacks, *extra],
        device=device,
        seed=[c.train.seed for c in configs] if many else t.seed,
        eval_batch_size=eval_batch_option(t),
        augment=augmentation(configs[0], splits, device),
        engine=t.engine,
        drop_last=t.drop_last,
        probe_every=t.probe_every,
        **options,
    )
