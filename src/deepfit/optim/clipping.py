"""Gradient clipping by name: applied between the backward pass and the update, with its own statistics.

Gradients come as the rows of one (K, N) tensor, one row per member trained at once (K = 1 for a single
model), with each member's threshold in a (K, 1) tensor; `segments` are the column ranges of the separate
parameter tensors, for clipping each tensor on its own (`norm`). Each entry returns the clipped gradients
and, per member, the global gradient norm before clipping and whether clipping changed anything (1.0 or
0.0); the step accumulates both, with no host sync, into the epoch's `grad_norm` and `clip_fraction`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from deepfit import names
from deepfit.errors import ConfigError
from deepfit.registry import Registry

Tensor = torch.Tensor
Segments = Sequence[tuple[int, int]]
# (grads (K, N), threshold (K, 1), segments) -> (clipped grads, grad_norm (K,), clipped (K,))
Clip = Callable[[Tensor, Tensor, Segments], tuple[Tensor, Tensor, Tensor]]
CLIPPERS: Registry[Clip] = Registry(names.CLIPPERS)
DEFAULT_THRESHOLD = 1.0  # Géron's SGD(clipvalue=1.0) and SGD(clipnorm=1.0), ch. 11


def _norm(g: Tensor) -> Tensor:
    return torch.linalg.vector_norm(g, dim=1)  # (K,)


@CLIPPERS.register("none", summary="no clipping; still records the global gradient norm per epoch")
def none(g: Tensor, threshold: Tensor, segments: Segments) -> tuple[Tensor, Tensor, Tensor]:
    """Measure only: the baseline of a clipping comparison."""
    norm = _norm(g)
    return g, norm, torch.zeros_like(norm)


@CLIPPERS.register("value", summary="clamp every gradient component to [-threshold, threshold] (Keras clipvalue)")
def value(g: Tensor, threshold: Tensor, segments: Segments) -> tuple[Tensor, Tensor, Tensor]:
    """Clip by value: `g <- clamp(g, -t, t)` element-wise, as `torch.nn.utils.clip_grad_value_`. It can
    change the gradient's direction."""
    t = threshold.to(g.dtype)
    clipped = (g.abs().amax(1) > t.squeeze(1)).to(g.dtype)
    return torch.clamp(g, -t, t), _norm(g), clipped


@CLIPPERS.register("norm", summary="rescale each parameter's gradient to norm <= threshold (Keras clipnorm)")
def norm(g: Tensor, threshold: Tensor, segments: Segments) -> tuple[Tensor, Tensor, Tensor]:
    """Clip each parameter tensor's gradient separately, as `tf.clip_by_norm` in Keras's `clipnorm`:
    ```
    g_p <- g_p * t / max(||g_p||, t)     for each parameter tensor p
    ```
    """
    t = threshold.to(g.dtype)
    parts = [g[:, a:b] for a, b in segments]
    norms = torch.stack([_norm(p) for p in parts], dim=1)  # (K, P)
    scales = t / norms.clamp(min=t)  # (K, P)
    out = torch.cat([p * scales[:, i : i + 1] for i, p in enumerate(parts)], dim=1)
    return out, _norm(norms), (norms.amax(1) > t.squeeze(1)).to(g.dtype)


@CLIPPERS.register(
    "global_norm", summary="rescale all gradients together to global norm <= threshold (clip_grad_norm_)"
)
def global_norm(g: Tensor, threshold: Tensor, segments: Segments) -> tuple[Tensor, Tensor, Tensor]:
    """Clip by global norm, keeping the direction of the whole gradient (Pascanu et al. 2013):
    ```
    n = sqrt(sum_p ||g_p||^2);   g <- g * min(1, t / (n + 1e-6))
    ```
    as PyTorch's `clip_grad_norm_` computes it; Keras's `global_clipnorm`.
    """
    t = threshold.to(g.dtype).squeeze(1)
    n = _norm(g)
    scale = (t / (n + 1e-6)).clamp(max=1.0)
    return g * scale.unsqueeze(1), n, (n > t).to(g.dtype)


def check_threshold(name: str, threshold: float | None) -> float:
    """The threshold of clipping `name`, `DEFAULT_THRESHOLD` when None; anything but a number > 0 is an error."""
    CLIPPERS.canonical(name)
    if threshold is None:
        return DEFAULT_THRESHOLD
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not threshold > 0:
        raise ConfigError(f"clip.threshold: clipping {name!r} needs a threshold > 0, got {threshold!r}")
    return float(threshold)
