"""Per-layer gradient norms on one batch, outside the training step (for probes: diagnose/probes.py, TensorBoard)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

Tensor = torch.Tensor


def gradient_norms(model: nn.Module, objective: Any, x: Tensor, y: Tensor) -> tuple[list[str], list[float]]:
    """`||dL/dW||` of each trainable `nn.Linear` kernel of `model` (forward order) on the batch (x, y).

    The model runs in training mode, as in a training step; the gradients come from `torch.autograd.grad`,
    so no `.grad` is touched. Returns the layer names and their norms (one host read).
    """
    named = [(n, m.weight) for n, m in model.named_modules() if isinstance(m, nn.Linear) and m.weight.requires_grad]
    if not named:
        return [], []
    model.train()
    with torch.enable_grad():
        loss = objective.mean_loss(model(x), y)
        grads = torch.autograd.grad(loss, [w for _, w in named])
    norms = torch.stack([torch.linalg.vector_norm(g.detach(), dtype=torch.float32) for g in grads])
    return [n for n, _ in named], norms.tolist()
