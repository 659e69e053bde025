"""An epoch's batches as device tensors of fixed shape: every member's shuffled order, padded to whole batches.

The last, short batch of an epoch is padded with sample 0 at weight 0, so every step has the same shapes
(one compiled graph, one CUDA graph) and the update equals that of the short batch: losses and batch-norm
statistics are weighted means. `drop_last` leaves the short batch out instead. Under data parallelism
(train/distributed.py) every rank builds the same global order and reads its own shard of each batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from deepfit.train.distributed import DataParallel

Tensor = torch.Tensor


def steps_per_epoch(n: int, batch_size: int, *, drop_last: bool = False) -> int:
    """Optimizer steps in an epoch of `n` samples: whole batches, plus the short one unless `drop_last`."""
    return n // batch_size if drop_last and n >= batch_size else math.ceil(n / batch_size)


class EpochOrder:
    """The sample order of K members over one epoch: `order` (K, steps, batch) indices, `weight` (steps, batch).

    The tensors are allocated once and refilled in place by `shuffle_`, so a captured step can read them.
    With `parallel`, `batch_size` is the global batch and `batch` returns this rank's shard of it.
    """

    def __init__(self, n: int, batch_size: int, k: int, device: torch.device, *, drop_last: bool = False,
                 parallel: DataParallel | None = None) -> None:
        if n < 1:
            raise ValueError("an epoch needs at least one training sample")
        self.parallel = parallel
        if parallel is not None:
            parallel.check_batch(batch_size)
        self.n, self.batch_size, self.k = n, batch_size, k
        self.drop_last = drop_last and n >= batch_size
        self.steps = steps_per_epoch(n, batch_size, drop_last=drop_last)
        self.seen = self.steps * batch_size if self.drop_last else n  # samples that count per epoch
        self.order = torch.zeros(k, self.steps, batch_size, dtype=torch.long, device=device)
        self.weight = torch.ones(self.steps, batch_size, device=device)
        self.weight.view(-1)[self.seen :] = 0.0  # the padding of the last batch
        self.tail = self.seen - (self.steps - 1) * batch_size  # real samples in the last batch
        self.totals = self.weight.sum(1)  # (steps,) real samples in each global batch

    def shuffle_(self, generators: Sequence[torch.Generator]) -> None:
        """A fresh permutation per member, each from its own generator."""
        flat = self.order.view(self.k, -1)
        for k, g in enumerate(generators):
            perm = torch.randperm(self.n, generator=g, device=flat.device)
            flat[k, : self.seen].copy_(perm[: self.seen])

    def batch(self, pos: Tensor) -> tuple[Tensor, Tensor]:
        """Batch number `pos` (a 0-d device tensor): indices (K, batch) and weights (batch,), this rank's
        shard of them under data parallelism."""
        idx, w = self.order.index_select(1, pos).squeeze(1), self.weight.index_select(0, pos).squeeze(0)
        if self.parallel is None:
            return idx, w
        return self.parallel.shard(idx), self.parallel.shard(w)

    def tail_batch(self) -> tuple[Tensor, Tensor]:
        """The last batch's real samples only, unpadded: indices (K, tail) and weights (tail,) (this rank's
        shard under data parallelism)."""
        idx, w = self.order[:, -1, : self.tail], self.weight[-1, : self.tail]
        if self.parallel is None:
            return idx, w
        return self.parallel.shard(idx), self.parallel.shard(w)

    def total(self, pos: Tensor) -> Tensor:
        """Real samples in global batch number `pos` (0-d): the denominator of the batch's mean loss."""
        return self.totals.index_select(0, pos).squeeze(0)
