"""Weight penalties (l1, l2, l1_l2) added to the training loss; kernels only unless a bias is asked for.

A penalty is its two factors (`WeightPenalty`), so K members trained at once can each have their own and
the penalty of all of them is one expression over stacked weights (`stacked_penalty`). Decoupled weight
decay is not a penalty: it is AdamW's `weight_decay` (see docs/regularization.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from deepfit import names
from deepfit.errors import ConfigError
from deepfit.optim.kernels import layer_settings
from deepfit.registry import Registry

Tensor = torch.Tensor


@dataclass(frozen=True)
class WeightPenalty:
    """`l1 * sum(|w|) + l2 * sum(w^2)` of a weight tensor (Keras `regularizers.L1L2`; no 1/2 on l2)."""

    l1: float = 0.0
    l2: float = 0.0

    def __call__(self, w: Tensor) -> Tensor:
        return self.l1 * w.abs().sum() + self.l2 * w.square().sum()


PENALTIES: Registry[WeightPenalty] = Registry(names.PENALTIES)


def _factor(name: str, key: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigError(f"penalty {name!r}: {key} must be >= 0, got {value}")
    return float(value)


@PENALTIES.register("l1", summary="l1 * sum(|w|): drives weights to exact zeros (sparse models)")
def l1(l1: float = 0.01) -> WeightPenalty:
    """Lasso penalty `l1 * sum(|w|)`. Defaults to 0.01, as Keras `regularizers.L1`."""
    return WeightPenalty(l1=_factor("l1", "l1", l1))


@PENALTIES.register("l2", summary="l2 * sum(w^2): ridge / weight decay through the gradient")
def l2(l2: float = 0.01) -> WeightPenalty:
    """Ridge penalty `l2 * sum(w^2)` (no 1/2, as Keras `regularizers.L2`, whose default 0.01 it keeps).

    Its gradient `2 * l2 * w` goes through the optimizer's adaptive scaling; with Adam that is not the
    same as decoupled weight decay (AdamW), see docs/regularization.md.
    """
    return WeightPenalty(l2=_factor("l2", "l2", l2))


@PENALTIES.register("l1_l2", summary="l1 * sum(|w|) + l2 * sum(w^2) (elastic net)")
def l1_l2(l1: float = 0.01, l2: float = 0.01) -> WeightPenalty:
    """Elastic net `l1 * sum(|w|) + l2 * sum(w^2)`; defaults as Keras `regularizers.l1_l2`."""
    return WeightPenalty(_factor("l1_l2", "l1", l1), _factor("l1_l2", "l2", l2))


def resolve_penalty(spec: Any) -> tuple[WeightPenalty, bool] | None:
    """A penalty from a name or `{name=..., <factors>, bias=false}`; None/"none"/False means no penalty.

    Returns the penalty and whether it also applies to the bias.
    """
    if spec is None or spec is False or spec == "none":
        return None
    bias = False
    if isinstance(spec, Mapping):
        spec = dict(spec)
        bias = spec.pop("bias", False)
        if not isinstance(bias, bool):
            raise ConfigError(f"penalty: bias must be true or false, got {bias!r}")
    return PENALTIES.resolve(spec), bias


def layer_penalties(
    layers: Sequence[str], default: Any = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, tuple[WeightPenalty, bool] | None]:
    """The penalty of each dense layer `layers` (module names, bottom first): `default`, overridden per layer.

    `overrides` maps a layer name (or a prefix up to a dot: `hidden1` governs `hidden1.linear`) to a penalty
    spec, e.g. `{"output": "none", "hidden1": {"name": "l1", "l1": 1e-4}}`.
    """
    settings = layer_settings(list(layers), default, overrides, field="regularization.layers")
    return {name: resolve_penalty(settings[name]) for name in layers}


def stacked_penalty(weights: Sequence[Tensor], l1: Tensor | None, l2: Tensor | None) -> Tensor:
    """Each member's penalty over stacked weights: `sum_i l1[:, i] * sum|W_i| + l2[:, i] * sum W_i^2`, (K,).

    `weights[i]` is (K, ...) for K members; `l1` and `l2` are (K, len(weights)) factors, or None when every
    factor is 0.
    """
    terms = []
    for i, w in enumerate(weights):
        flat = w.flatten(1)  # (K, n)
        if l1 is not None:
            terms.append(l1[:, i] * flat.abs().sum(1))
        if l2 is not None:
            terms.append(l2[:, i] * flat.square().sum(1))
    return torch.stack(terms).sum(0)
