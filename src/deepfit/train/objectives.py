"""Losses by name, each with how it turns outputs into predictions and counts correct ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from deepfit.registry import Registry

Tensor = torch.Tensor


@dataclass(frozen=True)
class Objective:
    """A loss with its output transform (probabilities at predict time) and top-1 correct count.

    `correct` is None where accuracy has no meaning (regression). `labels_(logits, out)` writes predicted
    labels into a preallocated buffer in one kernel, so training accuracy costs one launch per step and is
    counted once per epoch.
    """

    name: str
    loss: Callable[[Tensor, Tensor], Tensor]
    output: Callable[[Tensor], Tensor]
    correct: Callable[[Tensor, Tensor], Tensor] | None
    labels_: Callable[[Tensor, Tensor], Tensor] | None = None
    label_dtype: torch.dtype = torch.long


LOSSES: Registry[Objective] = Registry("loss")


def _multiclass_correct(logits: Tensor, y: Tensor) -> Tensor:
    return (logits.argmax(dim=1) == y).sum()


def count_correct(labels: Tensor, y: Tensor) -> Tensor:
    """Correct predictions among `labels` (from `labels_`) against targets `y` (class indices or 0/1)."""
    if labels.dtype == torch.bool:
        return (labels == (y > 0.5)).sum()
    return (labels == y).sum()


def _binary_correct(logits: Tensor, y: Tensor) -> Tensor:
    return ((logits.squeeze(1) > 0) == (y > 0.5)).sum()


@LOSSES.register(
    "cross_entropy",
    summary="softmax cross-entropy on logits; labels are class indices",
    aliases=("sparse_categorical_crossentropy", "categorical_crossentropy"),
)
def cross_entropy() -> Objective:
    return Objective("cross_entropy", F.cross_entropy, lambda z: z.softmax(dim=1), _multiclass_correct,
                     lambda z, out: torch.argmax(z, dim=1, out=out))


@LOSSES.register(
    "binary_cross_entropy",
    summary="sigmoid cross-entropy on one logit; labels 0 or 1",
    aliases=("bce", "binary_crossentropy"),
)
def binary_cross_entropy() -> Objective:
    def loss(logits: Tensor, y: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits.squeeze(1), y)

    return Objective("binary_cross_entropy", loss, lambda z: z.sigmoid().squeeze(1), _binary_correct,
                     lambda z, out: torch.gt(z.squeeze(1), 0, out=out), torch.bool)


@LOSSES.register("mse", summary="mean squared error for regression", aliases=("mean_squared_error",))
def mse() -> Objective:
    def loss(out: Tensor, y: Tensor) -> Tensor:
        return F.mse_loss(out.squeeze(1), y)

    return Objective("mse", loss, lambda z: z.squeeze(1), None)


_TASK_LOSS = {"multiclass": "cross_entropy", "binary": "binary_cross_entropy", "regression": "mse"}


def objective_for(loss: str, task: str) -> Objective:
    """The objective named `loss`, or the task's usual one when `loss` is `"auto"`."""
    return LOSSES.build(_TASK_LOSS[task] if loss == "auto" else loss)
