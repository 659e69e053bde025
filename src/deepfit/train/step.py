"""The training step: one function, built once per fit, that a compiler or CUDA graph could capture."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

from deepfit.train.objectives import Objective

Tensor = torch.Tensor


class StepOutput(NamedTuple):
    """What one step leaves on the device: the data loss, the logits (detached), the penalty and any
    per-step statistics (e.g. gradient norm) that the epoch averages over steps."""

    loss: Tensor
    logits: Tensor
    penalty: Tensor | None
    stats: dict[str, Tensor]


StepFn = Callable[[Tensor, Tensor], StepOutput]


def build_train_step(
    model: nn.Module,
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    *,
    penalty: Callable[[nn.Module], Tensor] | None = None,
    clip: Callable[[nn.Module], dict[str, Tensor]] | None = None,
    constrain: Callable[[nn.Module], None] | None = None,
) -> StepFn:
    """Return `train_step(x, y) -> StepOutput`, built once per fit.

    Nothing here reads a value back to the host: the epoch accumulates on the device and reads once.
    `penalty`, `clip` and `constrain` are optional parts of the update rule (l1/l2, gradient clipping,
    max-norm); `clip` may return statistics (e.g. the gradient norm) to accumulate with the rest.
    """
    loss_fn = objective.loss
    no_stats: dict[str, Tensor] = {}

    def train_step(x: Tensor, y: Tensor) -> StepOutput:
        logits = model(x)  # (batch, outputs)
        loss = loss_fn(logits, y)
        total = loss + penalty(model) if penalty is not None else loss  # l1/l2 on kernels only
        total.backward()
        stats = clip(model) if clip is not None else no_stats  # identity when clipping is off
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if constrain is not None:
            constrain(model)  # max-norm after the step, as Keras applies constraints
        pen = (total - loss).detach() if penalty is not None else None
        return StepOutput(loss.detach(), logits.detach(), pen, stats)

    return train_step
