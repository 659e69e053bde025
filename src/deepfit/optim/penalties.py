"""Weight penalties (l1, l2, l1_l2) added to the training loss; kernels only unless a bias is asked for.

Decoupled weight decay is not a penalty: it is AdamW's `weight_decay` (see docs/regularization.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from deepfit.errors import ConfigError
from deepfit.optim.kernels import layer_settings, named_linears
from deepfit.registry import Registry

Tensor = torch.Tensor
Penalty = Callable[[Tensor], Tensor]  # weight -> 0-d tensor
PENALTIES: Registry[Penalty] = Registry("penalty")


def _factor(name: str, key: str, value: float) -> float:
    if not value >= 0:
        raise ConfigError(f"penalty {name!r}: {key} must be >= 0, got {value}")
    return float(value)


@PENALTIES.register("l1", summary="l1 * sum(|w|): drives weights to exact zeros (sparse models)")
def l1(l1: float = 0.01) -> Penalty:
    """Lasso penalty `l1 * sum(|w|)`. Defaults to 0.01, as Keras `regularizers.L1`."""
    a = _factor("l1", "l1", l1)
    return lambda w: a * w.abs().sum()


@PENALTIES.register("l2", summary="l2 * sum(w^2): ridge / weight decay through the gradient")
def l2(l2: float = 0.01) -> Penalty:
    """Ridge penalty `l2 * sum(w^2)` (no 1/2, as Keras `regularizers.L2`, whose default 0.01 it keeps).

    Its gradient `2 * l2 * w` goes through the optimizer's adaptive scaling; with Adam that is not the
    same as decoupled weight decay (AdamW), see docs/regularization.md.
    """
    b = _factor("l2", "l2", l2)
    return lambda w: b * w.square().sum()


@PENALTIES.register("l1_l2", summary="l1 * sum(|w|) + l2 * sum(w^2) (elastic net)", aliases=("elastic_net",))
def l1_l2(l1: float = 0.01, l2: float = 0.01) -> Penalty:
    """Elastic net `l1 * sum(|w|) + l2 * sum(w^2)`; defaults as Keras `regularizers.l1_l2`."""
    a, b = _factor("l1_l2", "l1", l1), _factor("l1_l2", "l2", l2)
    return lambda w: a * w.abs().sum() + b * w.square().sum()


def resolve_penalty(spec: Any) -> tuple[Penalty, bool] | None:
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


def build_penalty(
    model: nn.Module, default: Any = None, *, layers: Mapping[str, Any] | None = None
) -> Callable[[nn.Module], Tensor] | None:
    """The step's `penalty(model)` hook: the sum of each Linear layer's penalty, or None when there is none.

    `default` applies to every Linear layer (hidden and output), `layers` overrides it per layer by name
    (`{"output": "none", "hidden1": {"name": "l1", "l1": 1e-4}}`). The weight tensors are collected once
    here; the hook is one loop over that list. Batch norm's scale and shift are never penalised.
    """
    linears = named_linears(model)
    settings = layer_settings([n for n, _ in linears], default, layers, field="regularization.layers")
    terms: list[tuple[Penalty, Tensor]] = []
    for name, lin in linears:
        resolved = resolve_penalty(settings[name])
        if resolved is None:
            continue
        fn, bias = resolved
        terms.append((fn, lin.weight))
        if bias and lin.bias is not None:
            terms.append((fn, lin.bias))
    if not terms:
        return None

    def penalty(_model: nn.Module) -> Tensor:
        return torch.stack([fn(w) for fn, w in terms]).sum()

    return penalty
