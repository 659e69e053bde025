"""Data parallelism over `torch.distributed`: each process trains the same members on its shard of every
global batch, and one all-reduce of the flat gradient makes every step that of the whole batch.

torchrun launches the processes and `torch.distributed` communicates; nothing here opens a socket or starts
a process. `nn.parallel.DistributedDataParallel` is not used: its reducer hooks fire from `.backward()` into
module parameters, and the engine takes its gradient over one flat (K, N) tensor instead (docs/distributed.md).
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from deepfit.errors import ConfigError

Tensor = torch.Tensor


@dataclass(frozen=True)
class DataParallel:
    """Process `rank` of `world`, in an initialised default process group.

    The engine calls it in three places (train/engine.py): `shard` picks this rank's samples of a global
    batch, `reduce_gradient_` sums the flat gradient over ranks after every step, and `reduce_sums_` sums the
    epoch's statistics once, at its end. Every rank holds the whole dataset and shuffles it with the same
    generators, so the ranks agree on every batch without communicating.
    """

    rank: int
    world: int

    @property
    def main(self) -> bool:
        """True on rank 0, the one process that writes the run directory, checkpoints and messages."""
        return self.rank == 0

    def check_batch(self, batch_size: int) -> int:
        """This rank's share of a global batch of `batch_size` samples.

        Raises:
            ConfigError: the batch does not split evenly over the processes.
        """
        if batch_size % self.world:
            raise ConfigError(f"train.batch_size is the global batch and must be a multiple of the {self.world} "
                              f"processes, got {batch_size}")
        return batch_size // self.world

    def shard(self, batch: Tensor) -> Tensor:
        """This rank's columns of `batch` (..., batch): every `world`-th sample from `rank` on.

        Strided rather than contiguous, so the real samples of a padded last batch spread over all ranks
        and rank 0 always has at least one.
        """
        return batch[..., self.rank :: self.world]

    def reduce_gradient_(self, grads: Tensor) -> Tensor:
        """Sum `grads` (K, N) over ranks in place (each rank's is its shard's share of the global mean)."""
        dist.all_reduce(grads)
        return grads

    def reduce_sums_(self, sums: Tensor, columns: int) -> None:
        """Sum the first `columns` columns of the epoch's sums (K, m) over ranks in place; the others
        (statistics of the already reduced gradient) are the same on every rank."""
        part = sums[:, :columns].contiguous()
        dist.all_reduce(part)
        sums[:, :columns].copy_(part)

    def broadcast_(self, tensor: Tensor) -> None:
        """Give every rank rank 0's `tensor` (batch-norm statistics, as DDP's `broadcast_buffers`)."""
        if tensor.numel():
            dist.broadcast(tensor, 0)

    def broadcast_path(self, path: Path | None, device: torch.device) -> Path:
        """Rank 0's `path` on every rank (the run directory only rank 0 creates), sent as UTF-8 bytes."""
        data = os.fsencode(path) if self.main and path is not None else b""
        size = torch.tensor([len(data)], dtype=torch.long, device=device)
        dist.broadcast(size, 0)
        buffer = torch.zeros(int(size), dtype=torch.uint8, device=device)
        if self.main:
            buffer.copy_(torch.frombuffer(bytearray(data), dtype=torch.uint8))
        dist.broadcast(buffer, 0)
        return Path(os.fsdecode(bytes(buffer.cpu().tolist())))


class _Discard(io.TextIOBase):
    """Standard output of the ranks other than 0: written to, kept nowhere (no file is opened)."""

    def write(self, text: str) -> int:
        return len(text)


def launched_world() -> int:
    """The number of processes torchrun started (its `WORLD_SIZE`), 1 outside torchrun."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise ConfigError(f"WORLD_SIZE: expected a number of processes, got {os.environ['WORLD_SIZE']!r}") from None


def refuse_under_torchrun(what: str) -> None:
    """Refuse work that is not data-parallel (studies, sweeps) when torchrun started several processes,
    which would otherwise each run it whole and write the same directories at once."""
    world = launched_world()
    if world > 1:
        raise ConfigError(f"{what} cannot run under torchrun (WORLD_SIZE={world}): only `deepfit train` is "
                          "data-parallel; run it as one process (without torchrun)")


def launched_rank() -> int:
    """This process's rank as torchrun set it (`RANK`), 0 outside torchrun: for messages printed before
    the process group is joined."""
    rank = os.environ.get("RANK", "0")
    return int(rank) if rank.isdigit() else 0


@contextlib.contextmanager
def joined(device: torch.device) -> Iterator[tuple[torch.device, DataParallel | None]]:
    """Join torchrun's process group for the block when torchrun started more than one process.

    Yields the device this rank trains on (`cuda:LOCAL_RANK` for a CUDA run) and its `DataParallel`, or
    `device` and None outside torchrun. The backend is NCCL on CUDA and gloo on the CPU; rank, world size
    and the rendezvous come from torchrun's environment (`env://`). Ranks other than 0 print nothing in
    the block (no standard output, no warnings; errors still reach standard error). The group is destroyed
    when the block ends.
    """
    if launched_world() <= 1:
        yield device, None
        return
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", init_method="env://")
    parallel = DataParallel(dist.get_rank(), dist.get_world_size())
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(warnings.catch_warnings())
            if not parallel.main:
                warnings.simplefilter("ignore")
                stack.enter_context(contextlib.redirect_stdout(_Discard()))
            yield device, parallel
    finally:
        dist.destroy_process_group()
