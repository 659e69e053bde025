"""Gradient clipping by name: applied between `backward()` and `optimizer.step()`, with its own statistics.

Each entry builds a function `clip(model) -> {"grad_norm", "clip_fraction"}` of 0-d device tensors (no host
sync), which the training step accumulates: per epoch, the mean global gradient norm before clipping and
the fraction of steps where clipping changed a gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from deepfit.errors import ConfigError
from deepfit.registry import Registry

Tensor = torch.Tensor
Clip = Callable[[nn.Module], dict[str, Tensor]]
CLIPPERS: Registry[Clip] = Registry("gradient clipping")


def _with_grads(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.grad is not None]


def _norms(grads: list[Tensor], ord: float = 2.0) -> Tensor:
    """Each gradient's norm, in one fused call (a 1-d float32 tensor; no host sync)."""
    return torch.stack(torch._foreach_norm([g.detach() for g in grads], ord)).float()


def global_grad_norm(grads: list[Tensor]) -> Tensor:
    """`sqrt(sum over parameters of ||g||^2)`, a 0-d tensor (zero when there are no gradients)."""
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(_norms(grads))


def _check(name: str, threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not threshold > 0:
        raise ConfigError(f"clip.threshold: clipping {name!r} needs a threshold > 0, got {threshold!r}")
    return float(threshold)


@CLIPPERS.register("none", summary="no clipping; still records the global gradient norm per epoch")
def none() -> Clip:
    """Measure only: useful as the baseline of a clipping comparison."""

    def clip(model: nn.Module) -> dict[str, Tensor]:
        total = global_grad_norm([p.grad for p in _with_grads(model)])
        return {"grad_norm": total, "clip_fraction": torch.zeros_like(total)}

    return clip


@CLIPPERS.register("value", summary="clamp every gradient component to [-threshold, threshold] (Keras clipvalue)")
def value(threshold: float = 1.0) -> Clip:
    """Clip by value: `g <- clamp(g, -t, t)` element-wise. It can change the gradient's direction.

    Defaults to 1.0, as Géron's `SGD(clipvalue=1.0)` (ch. 11).
    """
    t = _check("value", threshold)

    def clip(model: nn.Module) -> dict[str, Tensor]:
        params = _with_grads(model)
        grads = [p.grad for p in params]
        total = global_grad_norm(grads)
        if not grads:
            return {"grad_norm": total, "clip_fraction": torch.zeros_like(total)}
        peak = _norms(grads, math.inf).amax()
        torch.nn.utils.clip_grad_value_(params, t)
        return {"grad_norm": total, "clip_fraction": (peak > t).float()}

    return clip


@CLIPPERS.register("norm", summary="rescale each parameter's gradient to norm <= threshold (Keras clipnorm)")
def norm(threshold: float = 1.0) -> Clip:
    """Clip each parameter's gradient separately, as `tf.clip_by_norm` in Keras's `clipnorm`:
    ```
    g_p <- g_p * t / max(||g_p||, t)     for each parameter tensor p
    ```
    Defaults to 1.0, as Géron's `SGD(clipnorm=1.0)` (ch. 11).
    """
    t = _check("norm", threshold)

    def clip(model: nn.Module) -> dict[str, Tensor]:
        grads = [p.grad for p in _with_grads(model)]
        if not grads:
            zero = torch.zeros(())
            return {"grad_norm": zero, "clip_fraction": zero}
        norms = _norms(grads)
        torch._foreach_mul_(grads, list((t / norms.clamp(min=t)).unbind()))
        return {"grad_norm": torch.linalg.vector_norm(norms), "clip_fraction": (norms.amax() > t).float()}

    return clip


@CLIPPERS.register(
    "global_norm", summary="rescale all gradients together to global norm <= threshold (clip_grad_norm_)"
)
def global_norm(threshold: float = 1.0) -> Clip:
    """Clip by global norm, keeping the direction of the whole gradient (Pascanu et al. 2013):
    ```
    n = sqrt(sum_p ||g_p||^2);   g_p <- g_p * t / max(n, t)
    ```
    Computed by PyTorch's `clip_grad_norm_` (which divides by n + 1e-6); Keras's `global_clipnorm`.
    Defaults to 1.0.
    """
    t = _check("global_norm", threshold)

    def clip(model: nn.Module) -> dict[str, Tensor]:
        total = torch.nn.utils.clip_grad_norm_(_with_grads(model), t)  # returns the norm before clipping
        return {"grad_norm": total.float(), "clip_fraction": (total > t).float()}

    return clip


def build_clip(name: str, **params: float) -> Clip:
    """The clipping function `name` (`deepfit list clipping`) with its parameters (`threshold`)."""
    return CLIPPERS.build(name, **params)
