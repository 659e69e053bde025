"""Weight constraints applied after each optimizer step: max-norm here, fixed pruning masks in pruning.py."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from deepfit.errors import ConfigError

Tensor = torch.Tensor
EPSILON = 1e-7  # Keras backend.epsilon()


def max_norm_(weights: Sequence[Tensor], max_value: float | Tensor = 2.0, axis: int = 1) -> None:
    """Rescale in place each slice of each weight along `axis` to an L2 norm of at most `max_value`.

    Keras `MaxNorm` (Srebro et al. 2005; Srivastava et al. 2014 with dropout):
    ```
    norm = sqrt(sum(w^2, axis))
    w <- w * clip(norm, 0, r) / (eps + norm)
    ```
    written as `w * min(1, r / (eps + norm))`: the same for norms above r, and vectors within r stay
    exactly as they are (Keras scales them by norm / (eps + norm), a change below eps / norm).
    A torch Linear weight is (out, in), so `axis=1` bounds each unit's incoming weight vector, which is
    Keras's `axis=0` on its (in, out) kernel. `max_value` may be a tensor that broadcasts against the
    norms, e.g. (K, 1, 1) radii for K members' stacked (K, out, in) kernels with `axis=2`.
    """
    with torch.no_grad():
        scales = [
            (max_value / (EPSILON + torch.linalg.vector_norm(w, dim=axis, keepdim=True))).clamp_(max=1.0)
            for w in weights
        ]
        torch._foreach_mul_(list(weights), scales)


def max_norm_layers(layers: Sequence[str], *, include_output: bool = False) -> list[str]:
    """The dense layers max-norm constrains: every hidden one (the chapter's use), and the output if asked.

    `layers` are the model's dense layer names bottom first (`named_linears`); the last is the output.
    """
    return list(layers) if include_output else list(layers)[:-1]


def check_max_norm(max_value: float, axis: int = 1) -> tuple[float, int]:
    """Validated `max_value` and `axis` of max-norm on (out, in) kernels."""
    if isinstance(max_value, bool) or not isinstance(max_value, int | float) or not max_value > 0:
        raise ConfigError(f"max_norm.max_value must be > 0, got {max_value}")
    if not -2 <= axis < 2:
        raise ConfigError(f"max_norm.axis must be in [-2, 2) for a dense kernel (out, in), got {axis}")
    return float(max_value), axis % 2
