"""The evaluation batch size a network runs fastest at: large on an accelerator, cache-sized on a CPU.

On a CPU an evaluation pass is fastest when one layer's output for the batch stays in the cache: configs/cnn.py,
whose first block writes 100 KB per sample, was 2.5x slower at batch 4096 than at 128 (1 thread), while the
dense reference net, at 1.2 KB per sample, changed by a few percent from 64 to 4096 (benchmarks/final_pass.py
--tables batch). So the batch is the largest power of two whose largest layer output fits `CPU_BUDGET_BYTES`,
within [MIN_BATCH, MAX_BATCH].
"""

from __future__ import annotations

import torch
from torch import nn

MAX_BATCH = 4096  # the batch before the rule; an accelerator always takes it
MIN_BATCH = 32
CPU_BUDGET_BYTES = 16 * 2**20  # largest layer output of a batch; fitted on benchmarks/final_pass.py --tables batch


def largest_output_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes per sample of the largest output of any leaf module of `model` on inputs `x` (evaluation mode)."""
    sizes: list[int] = []

    def record(_module: nn.Module, _inputs: object, output: object) -> None:
        if isinstance(output, torch.Tensor):
            sizes.append(output.numel() * output.element_size())

    leaves = [m for m in model.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(record) for m in leaves]
    was = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was)
        for h in hooks:
            h.remove()
    return max(sizes, default=0) // max(1, len(x))


def auto_eval_batch_size(model: nn.Module, x: torch.Tensor, device: torch.device, members: int = 1) -> int:
    """The evaluation batch for `members` copies of `model` run at once on `device`, measured on sample
    inputs `x` (2 samples suffice)."""
    if device.type != "cpu" or not len(x):
        return MAX_BATCH
    per_sample = largest_output_bytes(model, x.to(device)) * members
    if per_sample <= 0:
        return MAX_BATCH
    fits = CPU_BUDGET_BYTES // per_sample
    batch = MIN_BATCH
    while batch * 2 <= min(fits, MAX_BATCH):
        batch *= 2
    return batch
