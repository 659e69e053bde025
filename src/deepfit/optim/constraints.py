"""Weight constraints applied after each optimizer step: max-norm, and fixed pruning masks (pruning.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from deepfit.errors import ConfigError
from deepfit.optim.kernels import named_linears

Tensor = torch.Tensor
Constraint = Callable[[nn.Module], None]
EPSILON = 1e-7  # Keras backend.epsilon()


def max_norm_(weights: Sequence[Tensor], max_value: float = 2.0, axis: int = 1) -> None:
    """Rescale in place each slice of each weight along `axis` to an L2 norm of at most `max_value`.

    Keras `MaxNorm` (Srebro et al. 2005; Srivastava et al. 2014 with dropout):
    ```
    norm = sqrt(sum(w^2, axis))
    w <- w * clip(norm, 0, r) / (eps + norm)
    ```
    written as `w * min(1, r / (eps + norm))`: the same for norms above r, and vectors within r stay
    exactly as they are (Keras scales them by norm / (eps + norm), a change below eps / norm).
    A torch Linear weight is (out, in), so `axis=1` bounds each unit's incoming weight vector, which is
    Keras's `axis=0` on its (in, out) kernel.
    """
    with torch.no_grad():
        scales = [
            (max_value / (EPSILON + torch.linalg.vector_norm(w, dim=axis, keepdim=True))).clamp_(max=1.0)
            for w in weights
        ]
        torch._foreach_mul_(list(weights), scales)


def build_max_norm(
    model: nn.Module, max_value: float = 2.0, axis: int = 1, *, include_output: bool = False
) -> Constraint:
    """The step's `constrain(model)` hook for max-norm on the hidden layers' kernels (and the output's).

    Defaults to 2.0, as Keras `MaxNorm`; the chapter applies it to each hidden layer. The weights are
    collected once here, so each step is one batched rescale.
    """
    if not max_value > 0:
        raise ConfigError(f"max_norm.max_value must be > 0, got {max_value}")
    linears = named_linears(model)
    if not include_output:
        linears = linears[:-1]
    weights = [lin.weight for _, lin in linears]
    for w in weights:
        if not -w.ndim <= axis < w.ndim:
            raise ConfigError(f"max_norm.axis must be in [-{w.ndim}, {w.ndim}), got {axis}")

    def constrain(_model: nn.Module) -> None:
        max_norm_(weights, max_value, axis)

    return constrain


def chain(*constraints: Constraint | None) -> Constraint | None:
    """One `constrain` hook that applies each given constraint in order (None when none is given)."""
    given = [c for c in constraints if c is not None]
    if not given:
        return None
    if len(given) == 1:
        return given[0]

    def constrain(model: nn.Module) -> None:
        for c in given:
            c(model)

    return constrain
