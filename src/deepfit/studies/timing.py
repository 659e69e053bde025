"""The compute cost of one run's network, measured on its own: milliseconds per training step.

Runs trained at once as members of one group share their epoch time, so `seconds_per_epoch` cannot say
which variant is cheaper; `step_ms` times a forward and backward pass of each run's own model, alone, on a
batch of the run's size (eager, the median of `STEPS` after `WARMUP`).
"""

from __future__ import annotations

import copy
import statistics
import time
from typing import Any

import torch
from torch.nn import functional as F

WARMUP, STEPS = 5, 30


def step_ms(result: Any) -> dict[str, float]:
    """`{"step_ms": ...}`: a forward and backward pass of the run's model at its batch size, in ms."""
    model = copy.deepcopy(result.model)  # the member's parameters are views of its group's buffers
    model.train()
    for p in model.parameters():
        p.grad = None
    device = next(model.parameters()).device
    data = result.splits.train
    n = min(result.config.train.batch_size, len(data))
    x, y = data.x[:n].to(device), data.y[:n].to(device)
    times = []
    for i in range(WARMUP + STEPS):
        start = time.perf_counter()
        out = model(x)
        loss = F.cross_entropy(out, y) if out.shape[-1] > 1 else out.float().mean()
        loss.backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= WARMUP:
            times.append(time.perf_counter() - start)
    return {"step_ms": 1000 * statistics.median(times)}
