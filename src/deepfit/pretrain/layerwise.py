"""Greedy layer-wise pretraining: train one hidden layer at a time on the outputs of the ones below.

Shared by the autoencoder and RBM pretrainers; each layer is trained by the ordinary `Trainer` (on-device
batches, one host read per epoch) with an unsupervised objective whose target is the input itself.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from deepfit.data import TensorData
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Objective, Trainer, UpdateRule
from deepfit.transfer import cache_features

Tensor = torch.Tensor
# (layer index from 1, training inputs (n, d) of that layer, its units, validation inputs or None)
#   -> (last history row of its training, its trained encoder: Linear(d, units))
LayerTrainer = Callable[[int, Tensor, int, Tensor | None], tuple[dict[str, float], nn.Linear]]


def unsupervised(name: str, loss: Callable[[Tensor, Tensor], Tensor]) -> Objective:
    """An `Objective` with no accuracy: `loss(model_output, target)` per sample, outputs returned as they are."""
    return Objective(name, loss, lambda z: z)


def fit_layer(
    model: nn.Module,
    objective: Objective,
    x: Tensor,
    *,
    valid: Tensor | None = None,
    rule: UpdateRule,
    epochs: int = 5,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> list[dict[str, float]]:
    """Train `model` to map `x` to itself under `objective` with `rule`; returns the history rows."""
    trainer = Trainer(model, objective, rule, batch_size=batch_size, device=device, seed=seed)
    trainer.fit(TensorData(x, x), None if valid is None else TensorData(valid, valid), epochs=epochs, verbose=0)
    return trainer.history.rows


def plain_block(spec: ModelSpec, in_features: int, units: int) -> nn.Module:
    """One hidden block as `spec` builds it (activation, init), without batch norm or dropout."""
    layer_spec = ModelSpec(
        input_shape=(in_features,), num_outputs=1, hidden=[units], activation=spec.activation, init=spec.init
    )
    return build_model(layer_spec).hidden1


def stack_greedily(
    spec: ModelSpec, x: Tensor, train_layer: LayerTrainer, *, valid: Tensor | None = None
) -> tuple[nn.Sequential, list[dict[str, float]]]:
    """A model built from `spec` whose hidden layers are trained one after another by `train_layer`.

    Layer i sees the (cached, evaluation-mode) outputs of the trained layers 1..i-1, as in Hinton et al.
    (2006) and Bengio et al. (2007). The head stays untrained: `deepfit transfer` replaces it. Returns
    the model and the last history row of each layer.
    """
    model = build_model(spec)
    features = x.flatten(1)  # (n, d)
    valid_features = None if valid is None else valid.flatten(1)
    rows = []
    for i, units in enumerate(spec.hidden, start=1):
        last_row, encoder = train_layer(i, features, units, valid_features)
        block = getattr(model, f"hidden{i}")
        block.linear.load_state_dict(encoder.state_dict())
        rows.append({"layer": i, **last_row})
        features = cache_features(block.to(features.device), features)  # (n, units)
        if valid_features is not None:
            valid_features = cache_features(block, valid_features)
    return model, rows
