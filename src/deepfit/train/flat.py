"""The parameters and buffers of K members of one architecture as rows of a few (K, N) device tensors.

Each member's own parameters and buffers become views of its row (the flat-parameter layout of FSDP and of
apex's fused optimizers): one update rule then touches every parameter of every member in one pass, a
member's best weights are one row copy, and each member's `nn.Module` always shows its current weights
without a copy. The members' `nn.Module` objects are not otherwise changed: their parameter objects stay,
only the storage behind them moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from deepfit.errors import ConfigError

Tensor = torch.Tensor


@dataclass(frozen=True)
class Segment:
    """One named tensor of every member: columns `start:stop` of its buffer, shape `shape` per member."""

    name: str
    shape: tuple[int, ...]
    start: int
    stop: int


class FlatTensors:
    """K members' tensors of one kind (trainable, frozen or buffer; one dtype) as a (K, N) tensor.

    `members[k][i]` is member k's i-th tensor (`names[i]`, all members alike); after construction each
    becomes a view of row k, and `stacked(name)` is the (K, *shape) view over every member.
    """

    def __init__(self, names: Sequence[str], members: Sequence[Sequence[Tensor]], device: torch.device) -> None:
        first = members[0]
        self.segments: list[Segment] = []
        start = 0
        for name, t in zip(names, first, strict=True):
            self.segments.append(Segment(name, tuple(t.shape), start, start + t.numel()))
            start += t.numel()
        dtype = first[0].dtype if first else torch.float32
        self.data = torch.empty(len(members), start, dtype=dtype, device=device)  # (K, N)
        for k, tensors in enumerate(members):
            for seg, t in zip(self.segments, tensors, strict=True):
                row = self.data[k, seg.start : seg.stop].view(seg.shape)
                row.copy_(t.detach())
                t.data = row  # the member's tensor now lives in row k
        self._by_name = {s.name: s for s in self.segments}

    @property
    def width(self) -> int:
        return self.data.shape[1]

    def stacked(self, name: str) -> Tensor:
        """(K, *shape): the tensor `name` of every member, a view of the buffer."""
        seg = self._by_name[name]
        return self.data[:, seg.start : seg.stop].view(self.data.shape[0], *seg.shape)

    def split(self, flat: Tensor) -> list[Tensor]:
        """`flat` (K, N) cut into one (K, *shape) view per segment.

        One `torch.split`, not a slice per segment: differentiated (the compiled step takes its gradient
        with respect to `flat`), a split's backward is one concatenation, while the backward of S slices is
        a sum of S zero-padded scatters, which inductor fuses into a kernel testing every element against
        all S segments (a 100-layer net's compiled step ran at half the speed of eager, `--tables deep` of
        benchmarks/engine_speed.py).
        """
        if not self.segments:
            return []
        parts = torch.split(flat, [s.stop - s.start for s in self.segments], dim=1)
        return [part.view(flat.shape[0], *s.shape) for part, s in zip(parts, self.segments, strict=True)]


@dataclass
class MemberTensors:
    """The tensors of K members in flat buffers: trainable parameters (grouped by learning-rate factor),
    frozen parameters, and floating-point and integer buffers (batch-norm statistics and counters)."""

    trainable: FlatTensors
    frozen: FlatTensors
    buffers: FlatTensors
    counters: FlatTensors
    groups: list[tuple[int, int, float]]  # (start, stop, lr factor): contiguous columns of `trainable`


def flatten_members(
    members: Sequence[nn.Module], device: torch.device, lr_factors: dict[str, float] | None = None
) -> MemberTensors:
    """Move every member's parameters and buffers into flat buffers on `device` (see the module docstring).

    `lr_factors` maps a parameter-name prefix to a learning-rate factor (the longest matching prefix wins;
    1 elsewhere); parameters of one factor are contiguous, so each factor's columns form one group.

    Raises:
        ConfigError: the members differ in their parameters' or buffers' names, shapes or trainability.
    """
    named = [dict(m.named_parameters()) for m in members]
    bufs = [dict(m.named_buffers()) for m in members]
    _check_alike(named, "parameters")
    _check_alike(bufs, "buffers")
    first = named[0]
    for name in first:
        flags = {n[name].requires_grad for n in named}
        if len(flags) > 1:
            raise ConfigError(f"members differ in whether parameter {name!r} trains; train them in separate groups")
    factors = dict(lr_factors or {})
    trainable = [n for n, p in first.items() if p.requires_grad]
    trainable.sort(key=lambda n: -_factor(n, factors))  # stable: named_parameters order within a factor
    frozen = [n for n, p in first.items() if not p.requires_grad]
    floats = [n for n, b in bufs[0].items() if b.is_floating_point()]
    ints = [n for n, b in bufs[0].items() if not b.is_floating_point()]
    out = MemberTensors(
        FlatTensors(trainable, [[n[x] for x in trainable] for n in named], device),
        FlatTensors(frozen, [[n[x] for x in frozen] for n in named], device),
        FlatTensors(floats, [[b[x] for x in floats] for b in bufs], device),
        FlatTensors(ints, [[b[x] for x in ints] for b in bufs], device),
        [],
    )
    for seg in out.trainable.segments:
        f = _factor(seg.name, factors)
        if out.groups and out.groups[-1][2] == f:
            out.groups[-1] = (out.groups[-1][0], seg.stop, f)
        else:
            out.groups.append((seg.start, seg.stop, f))
    for m in members:
        m.to(device)  # parameters and buffers are already there; this moves anything else the module holds
    return out


def _factor(name: str, factors: dict[str, float]) -> float:
    keys = [k for k in factors if name == k or name.startswith(k + ".")]
    return float(factors[max(keys, key=len)]) if keys else 1.0


def _check_alike(tables: list[dict[str, Tensor]], what: str) -> None:
    first = {n: tuple(t.shape) for n, t in tables[0].items()}
    for k, table in enumerate(tables[1:], start=1):
        other = {n: tuple(t.shape) for n, t in table.items()}
        if other != first:
            diff = sorted(set(first.items()) ^ set(other.items()))
            raise ConfigError(
                f"member {k} differs from member 0 in its {what} ({diff[:3]}); members trained at once need one "
                "architecture: train them in separate groups"
            )
