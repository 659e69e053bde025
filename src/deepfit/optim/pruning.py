"""Magnitude pruning: zero the smallest kernel weights, then keep them zero while fine-tuning.

Masks are held fixed as a constraint re-applied after each optimizer step (Han et al. 2015, "Learning both
weights and connections"); biases and batch norm are never pruned.
"""

from __future__ import annotations

import torch
from torch import nn

from deepfit.errors import ConfigError
from deepfit.optim.kernels import named_linears

Tensor = torch.Tensor


def magnitude_masks(
    model: nn.Module, *, sparsity: float | None = None, threshold: float | None = None
) -> dict[str, Tensor]:
    """Keep-masks (True = kept) for each Linear kernel, by name.

    With `sparsity` s, each layer keeps its `round((1 - s) * n)` largest weights by magnitude, so every
    layer ends up with the same fraction of zeros; with `threshold` t, weights with |w| <= t go.
    """
    if (sparsity is None) == (threshold is None):
        raise ConfigError("pruning: give exactly one of sparsity or threshold")
    if sparsity is not None and not 0 <= sparsity < 1:
        raise ConfigError(f"pruning: sparsity must be in [0, 1), got {sparsity}")
    if threshold is not None and not threshold >= 0:
        raise ConfigError(f"pruning: threshold must be >= 0, got {threshold}")
    masks = {}
    with torch.no_grad():
        for name, lin in named_linears(model):
            w = lin.weight.abs()
            if threshold is not None:
                masks[name] = w > threshold
                continue
            keep = round((1 - sparsity) * w.numel())
            mask = torch.zeros(w.numel(), dtype=torch.bool, device=w.device)
            mask[w.flatten().topk(keep).indices] = True
            masks[name] = mask.view_as(w)
    return masks


def apply_masks_(model: nn.Module, masks: dict[str, Tensor]) -> None:
    """Zero the pruned weights of `model` in place: each Linear kernel named in `masks` times its keep-mask.

    Fine-tuning keeps them zero by passing the same masks to the Trainer's update rule (`UpdateRule.masks`),
    which re-applies them after every step.
    """
    modules = dict(named_linears(model))
    unknown = set(masks) - set(modules)
    if unknown:
        raise ConfigError(f"pruning: masks for unknown layers {sorted(unknown)}; valid: {sorted(modules)}")
    with torch.no_grad():
        for name, mask in masks.items():
            modules[name].weight.mul_(mask.to(device=modules[name].weight.device, dtype=modules[name].weight.dtype))


def sparsity_report(model: nn.Module) -> dict[str, dict[str, float]]:
    """Per Linear kernel: weight count, exact zeros and their percentage; plus a `total` row."""
    rows, zeros, count = {}, 0, 0
    for name, lin in named_linears(model):
        w = lin.weight.detach()
        z, n = int((w == 0).sum()), w.numel()
        rows[name] = {"weights": n, "zeros": z, "zeros_pct": 100.0 * z / n}
        zeros, count = zeros + z, count + n
    rows["total"] = {"weights": count, "zeros": zeros, "zeros_pct": 100.0 * zeros / max(1, count)}
    return rows
