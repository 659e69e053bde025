"""The training step: one function, built once per fit, that a compiler or CUDA graph could capture."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from deepfit.train.objectives import Objective

Tensor = torch.Tensor
StepFn = Callable[[Tensor, Tensor], dict[str, Tensor]]


def build_train_step(
    model: nn.Module,
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    *,
    penalty: Callable[[nn.Module], Tensor] | None = None,
    clip: Callable[[nn.Module], dict[str, Tensor]] | None = None,
    constrain: Callable[[nn.Module], None] | None = None,
) -> StepFn:
    """Return `train_step(x, y) -> {name: 0-d tensor}`, the per-batch sums the epoch accumulates.

    Nothing here reads a value back to the host: the sums stay on the device until the end of the epoch.
    `penalty`, `clip` and `constrain` are optional parts of the update rule (l1/l2, gradient clipping,
    max-norm); `clip` may return statistics (e.g. the gradient norm) to accumulate with the rest.
    """
    loss_fn, correct_fn = objective.loss, objective.correct

    def train_step(x: Tensor, y: Tensor) -> dict[str, Tensor]:
        logits = model(x)  # (batch, outputs)
        loss = loss_fn(logits, y)
        total = loss + penalty(model) if penalty is not None else loss  # l1/l2 on kernels only
        total.backward()
        stats = clip(model) if clip is not None else {}  # identity when clipping is off
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if constrain is not None:
            constrain(model)  # max-norm after the step, as Keras applies constraints
        n = y.shape[0]
        out = {"loss": loss.detach() * n, **stats}
        if penalty is not None:
            out["penalty"] = (total - loss).detach() * n
        if correct_fn is not None:
            out["correct"] = correct_fn(logits.detach(), y)
        return out

    return train_step
