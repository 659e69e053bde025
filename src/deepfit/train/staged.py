"""Staged fine-tuning of a model with reused layers: train the new head with them frozen, then unfreeze.

Géron (ch. 11): freeze the reused layers for a few epochs so the random new head does not wreck them
with large gradients, then unfreeze and continue with a lower learning rate. The step is built once per
`fit`, so each stage gets its own optimizer over exactly the parameters that train in it: frozen
parameters get no gradient and no optimizer state, and changing what trains means a new optimizer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from deepfit.data import Splits, TensorData
from deepfit.errors import ConfigError, ShapeError
from deepfit.nn import ModelSpec, load_model
from deepfit.train.callbacks import ProgressBar
from deepfit.train.history import History
from deepfit.train.trainer import Trainer
from deepfit.transfer import (
    cache_features,
    cacheable_layers,
    freeze,
    param_groups,
    split_frozen,
    transfer_model,
    unfreeze,
)

OptimizerFactory = Callable[[list[dict[str, Any]]], torch.optim.Optimizer]


def start_from_saved(
    source_dir: str, spec: ModelSpec, splits: Splits, *, reuse: int | None = None
) -> tuple[torch.nn.Sequential, ModelSpec, Splits, list[str]]:
    """(model, spec, splits, reused layer names) for a run that starts from the model saved in `source_dir`.

    The model keeps the first `reuse` hidden layers of the saved one (all by default) and gets a new head
    sized as `spec.num_outputs` says. The splits are re-standardised with the saved model's statistics,
    since its layers were trained on inputs scaled that way.

    Raises:
        CheckpointError: `source_dir` holds no saved model.
        ShapeError: the saved model expects another input shape than the data has.
        ConfigError: `reuse` exceeds the saved model's hidden layers.
    """
    source, saved_spec, _meta, extra = load_model(source_dir)
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
    )


def fit_staged(
    trainer: Trainer,
    train: TensorData,
    valid: TensorData | None,
    *,
    epochs: int,
    lr: float,
    build_optimizer: OptimizerFactory,
    reused: Sequence[str],
    freeze_epochs: int = 0,
    unfreeze_top: int | str = "all",
    lr_factor: float = 0.1,
    head_lr_factor: float = 1.0,
    cache: bool = True,
) -> History:
    """Stage 1: `freeze_epochs` epochs with `reused` frozen; stage 2: unfreeze and train to `epochs`.

    Stage 2 unfreezes the top `unfreeze_top` reused layers (`"all"`, `"none"` or a count) and trains them
    at `lr * lr_factor` and the other trainable layers at `lr * head_lr_factor` (Géron unfreezes all and
    uses lr / 10 for every layer: `lr_factor = head_lr_factor = 0.1`). With `cache`, stage 1 trains the
    layers above the frozen deterministic ones on their cached outputs (`transfer.feature_cache`): the same
    result, faster. Early stopping and checkpoints watch stage 2 only; stage 1 keeps the progress bar.
    """
    model, callbacks = trainer.model, trainer.callbacks
    if freeze_epochs > 0 and reused:
        freeze(model, list(reused))
        _set_optimizer(trainer, build_optimizer(param_groups(model, lr)), lr)
        trainer.callbacks = [c for c in callbacks if isinstance(c, ProgressBar)]
        try:
            _fit_frozen(trainer, train, valid, min(freeze_epochs, epochs), cache=cache)
        finally:
            trainer.model, trainer.callbacks, trainer.stop_training = model, callbacks, False
    if trainer.epoch < epochs:
        top = {"all": len(reused), "none": 0}.get(unfreeze_top, unfreeze_top)
        if not isinstance(top, int) or not 0 <= top <= len(reused):
            raise ConfigError(
                f"transfer.unfreeze: expected 'all', 'none' or a count in [0, {len(reused)}] "
                f"(the reused layers: {list(reused)}), got {unfreeze_top!r}"
            )
        if top:
            unfreeze(model, list(reused)[-top:])
        groups = param_groups(model, lr, reused=list(reused), lr_factor=lr_factor, head_lr_factor=head_lr_factor)
        _set_optimizer(trainer, build_optimizer(groups), lr)
        trainer.fit(train, valid, epochs=epochs)
    return trainer.history


def _fit_frozen(trainer: Trainer, train: TensorData, valid: TensorData | None, epochs: int, *, cache: bool) -> None:
    model = trainer.model
    # augmentation changes the inputs every epoch; a penalty or constraint may read the frozen weights
    hooks = (trainer.augment, trainer.penalty, trainer.constrain)
    if cache and all(h is None for h in hooks) and cacheable_layers(model):
        lower, upper = split_frozen(model)
        lower.to(trainer.device)
        train, valid = (None if d is None else _features(lower, d, trainer) for d in (train, valid))
        trainer.model = upper
    trainer.fit(train, valid, epochs=epochs)


def _features(lower: torch.nn.Module, data: TensorData, trainer: Trainer) -> TensorData:
    data = data.to(trainer.device)
    return TensorData(cache_features(lower, data.x, trainer.eval_batch_size), data.y)


def _set_optimizer(trainer: Trainer, optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Swap the optimizer between stages; `lr0` stays the base rate so schedules keep the groups' ratios."""
    trainer.optimizer, trainer.lr0 = optimizer, lr
