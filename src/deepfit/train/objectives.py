"""Losses by name, each with how it turns outputs into predictions and which predictions are right.

Losses are per sample, so the engine can weight them: the padded last batch of an epoch gives its padding
weight 0, and K members trained at once each get their own mean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from deepfit.registry import Registry

Tensor = torch.Tensor


@dataclass(frozen=True)
class Objective:
    """A per-sample loss with its output transform (probabilities at predict time) and per-sample hits.

    `loss(outputs, targets)` returns one loss per sample (batch,); `hits(outputs, targets)` returns 1.0 where
    the top-1 prediction is right and 0.0 where it is not (batch,), or is None where accuracy has no meaning
    (regression).
    """

    name: str
    loss: Callable[[Tensor, Tensor], Tensor]
    output: Callable[[Tensor], Tensor]
    hits: Callable[[Tensor, Tensor], Tensor] | None = None

    def mean_loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """The mean loss over the batch (a 0-d tensor)."""
        return self.loss(outputs, targets).mean()

    def correct(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """The number of right predictions in the batch (a 0-d tensor)."""
        if self.hits is None:
            raise ValueError(f"objective {self.name!r} has no accuracy")
        return self.hits(outputs, targets).sum()


LOSSES: Registry[Objective] = Registry("loss")


@LOSSES.register(
    "cross_entropy",
    summary="softmax cross-entropy on logits; labels are class indices",
    aliases=("sparse_categorical_crossentropy", "categorical_crossentropy"),
)
def cross_entropy() -> Objective:
    return Objective(
        "cross_entropy",
        lambda z, y: F.cross_entropy(z, y, reduction="none"),
        lambda z: z.softmax(dim=1),
        lambda z, y: (z.argmax(dim=1) == y).to(z.dtype),
    )


@LOSSES.register(
    "binary_cross_entropy",
    summary="sigmoid cross-entropy on one logit; labels 0 or 1",
    aliases=("bce", "binary_crossentropy"),
)
def binary_cross_entropy() -> Objective:
    return Objective(
        "binary_cross_entropy",
        lambda z, y: F.binary_cross_entropy_with_logits(z.squeeze(1), y, reduction="none"),
        lambda z: z.sigmoid().squeeze(1),
        lambda z, y: ((z.squeeze(1) > 0) == (y > 0.5)).to(z.dtype),
    )


@LOSSES.register("mse", summary="mean squared error for regression", aliases=("mean_squared_error",))
def mse() -> Objective:
    return Objective("mse", lambda z, y: (z.squeeze(1) - y).square(), lambda z: z.squeeze(1))


TASK_LOSSES = {"multiclass": "cross_entropy", "binary": "binary_cross_entropy", "regression": "mse"}
"""Each task's usual loss, what `loss = "auto"` means."""


def objective_for(loss: str, task: str) -> Objective:
    """The objective named `loss`, or the task's usual one when `loss` is `"auto"`."""
    return LOSSES.build(TASK_LOSSES[task] if loss == "auto" else loss)


def per_sample(loss: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    """A per-sample loss from an element-wise one, e.g. `F.mse_loss(reduction="none")` on (batch, features):
    the mean over every axis but the first."""

    def sample_loss(outputs: Tensor, targets: Tensor) -> Tensor:
        values = loss(outputs, targets)
        return values.flatten(1).mean(1) if values.dim() > 1 else values

    return sample_loss
