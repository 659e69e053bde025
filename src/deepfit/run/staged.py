"""Staged fine-tuning of a model with reused layers: train the new head with them frozen, then unfreeze.

Géron (ch. 11): freeze the reused layers for a few epochs so the random new head does not wreck them
with large gradients, then unfreeze and continue. Each stage gets its own Trainer over exactly the
parameters that train in it (frozen ones get no gradient and no optimizer state); the second continues
the first's epochs, steps and history.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from deepfit.config import RunConfig
from deepfit.data import Splits, TensorData
from deepfit.errors import ConfigError, ShapeError
from deepfit.nn import ModelSpec, load_model
from deepfit.run.setup import build_trainer, eval_batch_option
from deepfit.run.zoo import resolve_source
from deepfit.train import Callback, ProgressBar, Trainer
from deepfit.train.eval_batch import auto_eval_batch_size
from deepfit.transfer import (
    cache_features,
    cacheable_layers,
    freeze,
    lr_factors,
    split_frozen,
    transfer_model,
    unfreeze,
)


def start_from_saved(
    source_dir: str, spec: ModelSpec, splits: Splits, *, reuse: int | None = None
) -> tuple[torch.nn.Sequential, ModelSpec, Splits, list[str]]:
    """(model, spec, splits, reused layer names) for a run that starts from the model saved in `source_dir`
    (a run directory, or the name of one in the zoo, `deepfit.run.zoo`).

    The model keeps the first `reuse` hidden layers of the saved one (all by default) and gets a new head
    sized as `spec.num_outputs` says. The splits are re-standardised with the saved model's statistics,
    since its layers were trained on inputs scaled that way.

    Raises:
        CheckpointError: `source_dir` holds no saved model.
        ShapeError: the saved model expects another input shape than the data has.
        ConfigError: `reuse` exceeds the saved model's hidden layers.
    """
    source, saved_spec, _meta, extra = load_model(resolve_source(source_dir))
    if not isinstance(saved_spec, ModelSpec):
        raise ConfigError(f"transfer.source {source_dir}: its model was built by model.factory "
                          f"{saved_spec.factory!r}; transfer reuses the hidden layers of deepfit's dense networks")
    if tuple(saved_spec.input_shape) != tuple(splits.input_shape):
        raise ShapeError(
            f"transfer.source {source_dir}: the saved model takes inputs of shape {tuple(saved_spec.input_shape)}, "
            f"the data has {tuple(splits.input_shape)}"
        )
    n = len(saved_spec.hidden) if reuse is None else reuse
    model, new_spec = transfer_model(source, saved_spec, n, spec.num_outputs)
    splits = restandardize(splits, extra.get("mean"), extra.get("std"))
    return model, new_spec, splits, [f"hidden{i}" for i in range(1, n + 1)]


def restandardize(splits: Splits, mean: torch.Tensor | None, std: torch.Tensor | None) -> Splits:
    """`splits` scaled as `(x_raw - mean) / std` instead of by their own statistics (None: raw inputs)."""
    if splits.mean is None and mean is None:
        return splits

    def convert(data: TensorData | None) -> TensorData | None:
        if data is None:
            return None
        x = data.x if splits.mean is None else data.x * splits.std + splits.mean  # back to raw inputs
        x = x if mean is None else (x - mean) / std
        return TensorData(x, data.y)

    return Splits(
        convert(splits.train),
        convert(splits.valid),
        convert(splits.test),
        splits.class_names,
        splits.input_shape,
        splits.num_classes,
        mean,
        std,
        valid_split=splits.valid_split,
        input_dtype=splits.input_dtype,
        label_values=splits.label_values,
    )


def fit_staged(
    cfg: RunConfig,
    model: torch.nn.Module,
    splits: Splits,
    device: torch.device,
    callbacks: Sequence[Callback],
    reused: Sequence[str],
) -> Trainer:
    """Stage 1: `transfer.freeze_epochs` epochs with `reused` frozen; stage 2: unfreeze and train to `train.epochs`.

    Stage 2 unfreezes the top `transfer.unfreeze` reused layers (`"all"`, `"none"` or a count) and trains
    them at `lr * lr_factor` and the other trainable layers at `lr * head_lr_factor` (defaults 0.1 and 1;
    Géron's chapter keeps one rate for every layer, `lr_factor = head_lr_factor = 1`). With
    `cache_features`, stage 1 trains the layers above the frozen deterministic ones on their cached outputs
    (`transfer.feature_cache`): the same result, faster. Early stopping and checkpoints watch stage 2 only;
    stage 1 keeps the progress bar. Returns the Trainer of the last stage (over the whole model, also when
    the run ends in a cached stage 1).
    """
    tr, epochs = cfg.transfer, cfg.train.epochs
    trainer: Trainer | None = None
    if tr.freeze_epochs > 0 and reused:
        freeze(model, list(reused))
        shown = [c for c in callbacks if isinstance(c, ProgressBar)]
        first = min(tr.freeze_epochs, epochs)
        for bar in shown:
            bar.begin_stage(f"stage 1 of 2, epochs 1-{first}: the {len(reused)} reused layers frozen, the new "
                            "layers train", epochs=epochs)
        trainer = _fit_frozen(cfg, model, splits, device, shown, first)
    if trainer is not None and trainer.epoch >= epochs:
        if trainer.model is model:
            return trainer
        # stage 1 trained the upper layers on cached features: the whole model, which holds those weights,
        # answers for the run (evaluation and prediction take raw inputs)
        return build_trainer(cfg, model, splits, device, callbacks, initial_epoch=trainer.epoch,
                             initial_step=trainer.step, history=trainer.history)
    top = {"all": len(reused), "none": 0}.get(tr.unfreeze, tr.unfreeze)
    if not isinstance(top, int) or not 0 <= top <= len(reused):
        raise ConfigError(
            f"transfer.unfreeze: expected 'all', 'none' or a count in [0, {len(reused)}] "
            f"(the reused layers: {list(reused)}), got {tr.unfreeze!r}"
        )
    if top:
        unfreeze(model, list(reused)[-top:])
    factors = lr_factors(model, reused=list(reused), **tr.model_dump(include={"lr_factor", "head_lr_factor"},
                                                                     exclude_none=True))
    start = {} if trainer is None else {"initial_epoch": trainer.epoch, "initial_step": trainer.step,
                                         "history": trainer.history}
    if trainer is not None:
        for bar in (c for c in callbacks if isinstance(c, ProgressBar)):
            bar.begin_stage(f"stage 2 of 2, epochs {trainer.epoch + 1}-{epochs}: fine-tuning, the top {top} "
                            "reused layers unfrozen", epochs=epochs)
    trainer = build_trainer(cfg, model, splits, device, callbacks, lr_factors=factors, **start)
    trainer.fit(splits.train, splits.valid, epochs=epochs, verbose=0)
    return trainer


def _fit_frozen(
    cfg: RunConfig, model: torch.nn.Module, splits: Splits, device: torch.device, callbacks: list[Callback],
    epochs: int,
) -> Trainer:
    reg = cfg.regularization
    # augmentation changes the inputs every epoch; a penalty or constraint may read the frozen weights
    plain = reg.augment is None and reg.penalty is None and not reg.layers and reg.max_norm is None
    if cfg.transfer.cache_features and plain and cacheable_layers(model):
        lower, upper = split_frozen(model)
        lower.to(device)
        train = _features(lower, splits.train, cfg)
        valid = None if splits.valid is None else _features(lower, splits.valid, cfg)
        features = Splits(train, valid, None, splits.class_names, tuple(train.x.shape[1:]), splits.num_classes)
        trainer = build_trainer(cfg, upper, features, device, callbacks)
        trainer.fit(features.train, features.valid, epochs=epochs, verbose=0)
        return trainer
    trainer = build_trainer(cfg, model, splits, device, callbacks)
    trainer.fit(splits.train, splits.valid, epochs=epochs, verbose=0)
    return trainer


def _features(lower: torch.nn.Module, data: TensorData, cfg: RunConfig) -> TensorData:
    batch = eval_batch_option(cfg.train) or auto_eval_batch_size(lower, data.x[:2], data.x.device)
    return TensorData(cache_features(lower, data.x, batch), data.y)
