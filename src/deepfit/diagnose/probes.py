"""Probes on layers, run on the Trainer's probe event: per-layer gradient norms on a fixed probe batch.

The probe event comes every N steps, outside the training step, with batch-norm statistics and RNG state
restored afterwards (train/trainer.py: `Trainer.probing`), so probing never changes what training does.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from deepfit.train.callbacks.base import Callback, Logs

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


class GradientNormProbe(Callback):
    """Records per-layer gradient norms on the probe event: before the first step (`init`) and, for each
    epoch, at its last probe (`last`, the one at the epoch's end) and averaged over its probes (`mean`).

    `record` is JSON-ready: `{"layers": [...], "init": [...], "epochs": {"1": {"last": [...], "mean": [...]}}}`.
    One per member when K members train at once.
    """

    per_member = True

    def __init__(self) -> None:
        self.record: dict[str, Any] = {"layers": [], "init": [], "epochs": {}}
        self._epoch: list[list[float]] = []

    def on_probe(self, view: Any, logs: Logs) -> None:
        names, norms = gradient_norms(view.model, view.objective, logs["x"], logs["y"])
        self.record["layers"] = names
        if logs["step"] == 0:
            self.record["init"] = norms
        else:
            self._epoch.append(norms)

    def on_epoch_end(self, view: Any, logs: Logs) -> None:
        if self._epoch:
            mean = [sum(col) / len(col) for col in zip(*self._epoch, strict=True)]
            self.record["epochs"][str(logs["epoch"])] = {"last": self._epoch[-1], "mean": mean}
        self._epoch = []
