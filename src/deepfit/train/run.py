"""One training run from a validated `RunConfig`: data -> model -> Trainer -> run directory.

This is the only place in `train/` that reads configuration objects; it turns them into plain arguments.
"""

from __future__ import annotations

import math
import subprocess
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

import deepfit
from deepfit.atomic import write_text_atomic
from deepfit.config import RunConfig, config_from_dict, read_toml, to_toml
from deepfit.data import Splits, load_data
from deepfit.errors import ConfigError, DeviceError
from deepfit.nn import ModelSpec, build_model, check_self_normalizing, save_model
from deepfit.optim import Plateau, Schedule, build_clip, build_optimizer, build_schedule
from deepfit.train.callbacks import Callback, Checkpoint, EarlyStopping, ProgressBar, ReduceLROnPlateau
from deepfit.train.checkpoint import read_checkpoint
from deepfit.train.history import History
from deepfit.train.objectives import objective_for
from deepfit.train.regularize import regularization_hooks
from deepfit.train.rundir import create_run_dir, existing_run_dir, write_json
from deepfit.train.seeding import seed_everything
from deepfit.train.staged import fit_staged, start_from_saved
from deepfit.train.trainer import Trainer


@dataclass
class RunResult:
    """What a finished run produced; `run_dir` is None for runs kept in memory (studies)."""

    config: RunConfig
    history: History
    metrics: dict[str, Any]
    run_dir: Path | None = None
    trainer: Trainer | None = field(default=None, repr=False)
    splits: Splits | None = field(default=None, repr=False)


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
        d.name,
        dir=d.dir,
        path=d.path,
        valid=d.valid,
        subset=d.subset,
        standardize=d.standardize,
        seed=cfg.train.seed,
        task=d.task,
        label_column=d.label_column,
        options=d.options,
    )


def model_spec(cfg: RunConfig, splits: Splits) -> ModelSpec:
    m = cfg.model
    outputs = splits.num_classes if cfg.data.task == "multiclass" else 1
    return ModelSpec(
        input_shape=tuple(splits.input_shape),
        num_outputs=int(outputs),
        hidden=list(m.hidden),
        activation=m.activation,
        init=m.init,
        norm=m.norm,
        dropout=m.dropout,
        input_dropout=m.input_dropout,
        dropout_kind=m.dropout_kind,
        input_norm=m.input_norm,
        norm_momentum=m.norm_momentum,
        norm_eps=m.norm_eps,
        layer_init=dict(m.layer_init),
    )


def schedule_length(epochs: int, train_size: int, batch_size: int, interval: str) -> int:
    """Scheduled steps in a run: optimizer steps (epochs x batches per epoch), or epochs with interval="epoch"."""
    return epochs * (math.ceil(train_size / batch_size) if interval == "step" else 1)


def build_run_schedule(
    cfg: RunConfig, train_size: int | None, *, has_valid: bool = True
) -> tuple[Schedule | None, list[Callback]]:
    """The schedule `cfg` names, spanning the whole run, or for `performance` the callback that applies it.

    Schedules that need the run length (one_cycle, cosine, exponential's default s) get `schedule_length`,
    which needs the training-set size; without it they raise a `ConfigError`.
    """
    sc, t = cfg.schedule, cfg.train
    if sc.name == "constant" and not sc.params():
        return None, []
    total = schedule_length(t.epochs, train_size, t.batch_size, sc.interval) if train_size is not None else None
    schedule = build_schedule(sc.name, cfg.optimizer.lr, total_steps=total, **sc.params())
    if isinstance(schedule, Plateau):
        try:
            plateau = ReduceLROnPlateau(**schedule.params)
        except TypeError as exc:  # a parameter ReduceLROnPlateau does not have
            raise ConfigError(f"schedule 'performance': {exc}") from None
        if not has_valid:
            plateau.monitor = plateau.monitor.removeprefix("val_")
        return None, [plateau]
    return schedule, []


def build_trainer(
    cfg: RunConfig,
    model: torch.nn.Module,
    device: torch.device,
    callbacks: list[Callback],
    splits: Splits | None = None,
    constrain: Callable[[torch.nn.Module], None] | None = None,
) -> Trainer:
    """A Trainer with the optimizer, schedule, objective and regularization named in `cfg`.

    `splits` gives augmentation its image shape and standardisation; `constrain` is an extra constraint
    (e.g. pruning masks) applied after max-norm.
    """
    t, reg = cfg.train, cfg.regularization
    objective = objective_for(t.loss, cfg.data.task)
    optimizer = build_optimizer(cfg.optimizer.name, model.parameters(), **cfg.optimizer.params())
    has_valid = splits is None or (splits.valid is not None and len(splits.valid) > 0)
    schedule, schedule_callbacks = build_run_schedule(
        cfg, len(splits.train) if splits is not None else None, has_valid=has_valid
    )
    return Trainer(
        model,
        objective,
        optimizer,
        batch_size=t.batch_size,
        schedule=schedule,
        schedule_interval=cfg.schedule.interval,
        callbacks=[*callbacks, *schedule_callbacks],
        device=device,
        seed=t.seed,
        eval_batch_size=t.eval_batch_size,
        clip=build_clip(cfg.clip.name, **cfg.clip.params()) if cfg.clip is not None else None,
        **regularization_hooks(
            model,
            penalty=reg.penalty,
            layers=reg.layers,
            max_norm=reg.max_norm_params(),
            augment=reg.augment.params() if reg.augment is not None else None,
            splits=splits,
            device=device,
            seed=t.seed,
            constrain=constrain,
        ),
    )


def run_training(
    cfg: RunConfig,
    *,
    quiet: bool = True,
    run_dir: Path | None = None,
    resume: bool = False,
    save: bool = True,
    splits: Splits | None = None,
    extra_callbacks: Sequence[Callback] = (),
) -> RunResult:
    """Train as `cfg` says. With `save`, write the run directory; with `resume`, continue `run_dir`.

    `extra_callbacks` join the ones `cfg` asks for (studies pass probes this way).
    """
    t = cfg.train
    if t.threads:
        torch.set_num_threads(t.threads)
    device = resolve_device(t.device)
    if save and run_dir is None:
        run_dir = create_run_dir(cfg.out, cfg.name)
    if save:
        write_text_atomic(run_dir / "config.toml", to_toml(cfg))
    seed_everything(t.seed)
    splits = splits if splits is not None else load_splits(cfg)
    spec = model_spec(cfg, splits)
    model = build_model(spec)
    reused: list[str] = []
    if cfg.transfer is not None:
        if resume:
            raise ConfigError("--resume: runs with a [transfer] section (staged fine-tuning) cannot be resumed yet")
        model, spec, splits, reused = start_from_saved(cfg.transfer.source, spec, splits, reuse=cfg.transfer.reuse)
    warn_if_not_self_normalizing(model, spec, splits, cfg)
    callbacks: list[Callback] = list(extra_callbacks)
    if t.early_stopping is not None:
        es = t.early_stopping
        monitor = es.monitor if splits.valid is not None else es.monitor.removeprefix("val_")
        callbacks.append(EarlyStopping(monitor, es.patience, es.min_delta, es.restore_best))
    if save:
        callbacks.append(
            Checkpoint(run_dir / "checkpoint", every_epochs=t.checkpoint_every, history_csv=run_dir / "history.csv")
        )
    if not quiet:
        callbacks.append(ProgressBar())
    trainer = build_trainer(cfg, model, device, callbacks, splits=splits)
    if resume:
        trainer.load_state_dict(read_checkpoint(run_dir / "checkpoint"))
    start = time.perf_counter()
    history = _fit(cfg, trainer, splits, reused)
    metrics = final_metrics(trainer, splits)
    metrics["fit_time_s"] = time.perf_counter() - start
    metrics["device"] = str(device)
    if save:
        write_run_files(run_dir, trainer, spec, splits, metrics)
    return RunResult(cfg, history, metrics, run_dir, trainer, splits)


def _fit(cfg: RunConfig, trainer: Trainer, splits: Splits, reused: list[str]) -> History:
    """Plain `fit`, or the staged fine-tuning that `[transfer]` asks for (train/staged.py)."""
    if cfg.transfer is None:
        return trainer.fit(splits.train, splits.valid, epochs=cfg.train.epochs)
    tr, opt = cfg.transfer, cfg.optimizer
    factors = tr.model_dump(include={"lr_factor", "head_lr_factor"}, exclude_none=True)
    return fit_staged(
        trainer, splits.train, splits.valid, epochs=cfg.train.epochs, lr=opt.lr,
        build_optimizer=lambda groups: build_optimizer(opt.name, groups, **opt.params()), reused=reused,
        freeze_epochs=tr.freeze_epochs, unfreeze_top=tr.unfreeze, cache=tr.cache_features, **factors,
    )


def warn_if_not_self_normalizing(model: torch.nn.Module, spec: ModelSpec, splits: Splits, cfg: RunConfig) -> None:
    """Warn once, before training, when a SELU network breaks a condition of self-normalization."""
    if not any(isinstance(m, torch.nn.SELU) for m in model.modules()):
        return
    reg = cfg.regularization
    penalized = reg.penalty is not None or any(v not in ("none", False) for v in reg.layers.values())
    broken = check_self_normalizing(model, splits.train.x[:4096], spec=spec, penalized=penalized)
    if broken:
        lines = "; ".join(f"{b.condition} ({b.found}): {b.fix}" for b in broken)
        warnings.warn(f"this SELU network will not self-normalize: {lines}", UserWarning, stacklevel=2)


def final_metrics(trainer: Trainer, splits: Splits) -> dict[str, Any]:
    """Loss/accuracy on each split in evaluation mode, the test confusion matrix and timing figures."""
    metrics: dict[str, Any] = {"epochs": trainer.epoch}
    for name in ("train", "valid", "test"):
        data = getattr(splits, name)
        if data is not None and len(data):
            metrics[name] = trainer.evaluate(data)
    times = trainer.history["epoch_time_s"]
    metrics["seconds_per_epoch"] = sum(times) / len(times) if times else float("nan")
    es = next((c for c in trainer.callbacks if isinstance(c, EarlyStopping)), None)
    if es is not None and es.best_epoch:
        metrics["best_epoch"] = es.best_epoch
    if splits.test is not None and len(splits.test) and splits.num_classes and trainer.objective.correct:
        metrics["confusion_matrix"] = confusion_matrix(trainer, splits).tolist()
    return metrics


def confusion_matrix(trainer: Trainer, splits: Splits) -> torch.Tensor:
    """Rows are true classes, columns predicted classes, on the test split."""
    probs = trainer.predict(splits.test.x)
    k = splits.num_classes
    pred = probs.argmax(1) if probs.dim() == 2 else (probs > 0.5).long()
    y = splits.test.y.cpu().long()
    return torch.bincount(y * k + pred, minlength=k * k).reshape(k, k)


def write_run_files(run_dir: Path, trainer: Trainer, spec: ModelSpec, splits: Splits, metrics: dict[str, Any]) -> None:
    trainer.history.to_csv(run_dir / "history.csv")
    extra = {
        "task": trainer.objective.name,
        "class_names": splits.class_names,
        "standardized": splits.mean is not None,
    }
    tensors = {"mean": splits.mean, "std": splits.std} if splits.mean is not None else None
    save_model(trainer.model, spec, run_dir, extra=extra, tensors=tensors)
    write_json(run_dir / "metrics.json", {**metrics, "versions": versions()})


def versions() -> dict[str, str]:
    """deepfit, torch and git commit, saved with every result."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"deepfit": deepfit.__version__, "torch": torch.__version__, "commit": commit or "unknown"}


def load_run_config(run_dir: str | Path) -> RunConfig:
    """The resolved config of an existing run directory."""
    run_dir = existing_run_dir(run_dir)
    return config_from_dict(read_toml(run_dir / "config.toml"), source=str(run_dir / "config.toml"))
