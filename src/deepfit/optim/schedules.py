"""Learning-rate schedules as pure functions of the step (nanoGPT's `get_lr`); one applier writes them.

Plateau scheduling depends on validation metrics, so it is a callback in train/callbacks, not here: its
entry `performance` only carries the callback's settings (`Plateau`).

Every constructor takes `lr0` (the optimizer's lr) and `total_steps` (the number of scheduled steps: optimizer
steps, or epochs with `interval = "epoch"`), then its own parameters. Pure functions of the step are
evaluated ahead of time: the Trainer turns them into per-epoch tables on the device, and `deepfit schedule
plot` draws them without training; each is checked against the equivalent `torch.optim.lr_scheduler` in
tests/optim/test_schedules.py.
"""

from __future__ import annotations

import bisect
import inspect
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from deepfit import names
from deepfit.errors import ConfigError
from deepfit.registry import Registry

Schedule = Callable[[int], float]


@dataclass(frozen=True)
class ScheduleWithMomentum:
    """A schedule that also sets the momentum (SGD's `momentum`, Adam's beta_1) at each step."""

    lr: Schedule
    momentum: Schedule

    def __call__(self, step: int) -> float:
        return self.lr(step)


@dataclass(frozen=True)
class Plateau:
    """Settings of reduce-on-plateau; `deepfit.train.callbacks.ReduceLROnPlateau` validates and applies them."""

    params: dict[str, Any] = field(default_factory=dict)


SCHEDULES: Registry[Schedule | Plateau] = Registry(names.SCHEDULES)


def _positive(name: str, field_name: str, value: float) -> None:
    if not value > 0:
        raise ConfigError(f"schedule {name!r}: {field_name} must be > 0, got {value}")


def _needs_length(name: str, total_steps: int | None) -> int:
    if total_steps is None or total_steps < 1:
        raise ConfigError(
            f"schedule {name!r}: needs the run length total_steps >= 1 (epochs x steps per epoch), got {total_steps}"
        )
    return int(total_steps)


@SCHEDULES.register("constant", summary="lr0 throughout")
def constant(lr0: float, total_steps: int | None = None) -> Schedule:
    return lambda step: lr0


@SCHEDULES.register("power", summary="lr0 / (1 + step / s) ** c: the rate falls as a power of time")
def power(lr0: float, total_steps: int | None = None, *, s: float, c: float = 1.0) -> Schedule:
    """Power scheduling (Géron, ch. 11): after s steps the lr is lr0 / 2**c, after 3s lr0 / 4**c, ...

    ```
    lr(t) = lr0 / (1 + t / s) ** c
    ```
    Defaults to c = 1, as Keras `InverseTimeDecay`.
    """
    _positive("power", "s", s)
    _positive("power", "c", c)
    return lambda step: lr0 / (1 + step / s) ** c


@SCHEDULES.register("exponential", summary="lr0 * 0.1 ** (step / s): divide by 10 every s steps")
def exponential(lr0: float, total_steps: int | None = None, *, s: float | None = None) -> Schedule:
    """Exponential scheduling (Géron, ch. 11): decay smoothly by a factor of 10 every `s` steps.

    ```
    lr(t) = lr0 * 0.1 ** (t / s)          torch: ExponentialLR(gamma = 0.1 ** (1 / s))
    ```
    Args:
        s: steps per tenfold decay. Defaults to `total_steps`, so the lr ends the run at lr0 / 10.
    """
    if s is None:
        s = _needs_length("exponential", total_steps)
    _positive("exponential", "s", s)
    return lambda step: lr0 * 0.1 ** (step / s)


@SCHEDULES.register(
    "piecewise",
    summary="piecewise constant: the i-th value from the (i-1)-th boundary on",
)
def piecewise(
    lr0: float, total_steps: int | None = None, *, boundaries: Sequence[int], values: Sequence[float],
    inclusive: bool = False,
) -> Schedule:
    """Piecewise constant scheduling: `values[0]` before `boundaries[0]`, `values[i]` from `boundaries[i-1]` on.

    The lr changes at the boundary step itself, as torch's `MultiStepLR`; with `inclusive` each piece
    includes its upper boundary, so the lr changes one step later, as Keras's `PiecewiseConstantDecay`
    (`values[i]` for `boundaries[i-1] < step <= boundaries[i]`). `values` are learning rates, not factors of lr0.
    """
    boundaries, values = list(boundaries), [float(v) for v in values]
    if len(values) != len(boundaries) + 1:
        raise ConfigError(
            f"schedule 'piecewise': values needs len(boundaries) + 1 = {len(boundaries) + 1} entries, got {len(values)}"
        )
    if any(b <= a for a, b in itertools.pairwise(boundaries)) or any(b < 0 for b in boundaries):
        raise ConfigError(f"schedule 'piecewise': boundaries must be >= 0 and strictly increasing, got {boundaries}")
    if any(not v > 0 for v in values):
        raise ConfigError(f"schedule 'piecewise': values must all be > 0, got {values}")
    find = bisect.bisect_left if inclusive else bisect.bisect_right
    return lambda step: values[find(boundaries, step)]


def _linear(start: float, end: float, frac: float) -> float:
    return start + (end - start) * min(max(frac, 0.0), 1.0)


@SCHEDULES.register(
    "one_cycle",
    summary="1cycle: lr0 -> max_lr -> lr0 -> annihilation, momentum inverse",
)
def one_cycle(
    lr0: float,
    total_steps: int | None = None,
    *,
    max_lr: float,
    pct_start: float = 0.45,
    final_div_factor: float = 1000.0,
    cycle_momentum: bool = True,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
) -> Schedule:
    """1cycle (Smith 2018, arXiv:1803.09820; Géron, ch. 11): three linear phases over `total_steps`.

    ```
    phase 1, t in [0, a]:      lr lr0 -> max_lr                momentum max_momentum -> base_momentum
    phase 2, t in [a, 2a]:     lr max_lr -> lr0                momentum base_momentum -> max_momentum
    phase 3, t in [2a, T-1]:   lr lr0 -> lr0 / final_div_factor   momentum max_momentum
    with a = pct_start * T - 1 and T = total_steps
    ```
    These are the phase ends of torch's `OneCycleLR(three_phase=True, anneal_strategy="linear")` with
    `div_factor = max_lr / lr0`. The defaults follow Géron's implementation: the annihilation takes the last
    ~10% of the run and ends at lr0 / 1000; the momentum range is Smith's 0.85-0.95. `momentum` is SGD's
    momentum or Adam's beta_1. Steps past T keep the final values.

    Raises:
        ConfigError: max_lr < lr0, pct_start outside (0, 0.5), or momenta out of order; names the field.
    """
    total = _needs_length("one_cycle", total_steps)
    if not max_lr >= lr0:
        raise ConfigError(f"schedule 'one_cycle': max_lr must be >= the initial lr ({lr0}), got {max_lr}")
    if not 0 < pct_start < 0.5:
        raise ConfigError(f"schedule 'one_cycle': pct_start must be in (0, 0.5), got {pct_start}")
    _positive("one_cycle", "final_div_factor", final_div_factor)
    if not 0 <= base_momentum <= max_momentum < 1:
        raise ConfigError(
            "schedule 'one_cycle': need 0 <= base_momentum <= max_momentum < 1, "
            f"got base_momentum={base_momentum}, max_momentum={max_momentum}"
        )
    a = pct_start * total - 1
    ends = (a, 2 * a, total - 1.0)

    def _phase(step: int, values: tuple[float, float, float, float]) -> float:
        if step <= ends[0]:
            return _linear(values[0], values[1], step / ends[0] if ends[0] > 0 else 1.0)
        if step <= ends[1]:
            return _linear(values[1], values[2], (step - ends[0]) / (ends[1] - ends[0]))
        span = ends[2] - ends[1]
        return _linear(values[2], values[3], (step - ends[1]) / span if span > 0 else 1.0)

    lrs = (lr0, max_lr, lr0, lr0 / final_div_factor)
    moms = (max_momentum, base_momentum, max_momentum, max_momentum)

    def lr(step: int) -> float:
        return _phase(step, lrs)

    if not cycle_momentum:
        return lr
    return ScheduleWithMomentum(lr, lambda step: _phase(step, moms))


@SCHEDULES.register("cosine", summary="linear warm-up, then cosine decay to min_lr over the run")
def cosine(lr0: float, total_steps: int | None = None, *, warmup_steps: int = 0, min_lr: float = 0.0) -> Schedule:
    """Cosine decay with linear warm-up (Loshchilov & Hutter 2017, arXiv:1608.03983; nanoGPT's `get_lr`).

    ```
    t < w:   lr = lr0 * (t + 1) / w
    t >= w:  lr = min_lr + (lr0 - min_lr) * (1 + cos(pi * (t - w) / (T - w))) / 2     T = total_steps
    ```
    After warm-up this is torch's `CosineAnnealingLR(T_max = T - w, eta_min = min_lr)`.
    """
    total = _needs_length("cosine", total_steps)
    if not 0 <= warmup_steps < total:
        raise ConfigError(f"schedule 'cosine': warmup_steps must be in [0, total_steps={total}), got {warmup_steps}")
    if not 0 <= min_lr <= lr0:
        raise ConfigError(f"schedule 'cosine': min_lr must be in [0, lr0={lr0}], got {min_lr}")

    def lr(step: int) -> float:
        if step < warmup_steps:
            return lr0 * (step + 1) / warmup_steps
        frac = min((step - warmup_steps) / (total - warmup_steps), 1.0)
        return min_lr + (lr0 - min_lr) * (1 + math.cos(math.pi * frac)) / 2

    return lr


@SCHEDULES.register(
    "performance",
    summary="reduce on plateau: lr *= factor after `patience` epochs without progress",
)
def performance(lr0: float, total_steps: int | None = None, **params: Any) -> Plateau:
    """Performance scheduling (Géron, ch. 11): a stateful callback, so this entry only carries its settings.

    Parameters (`monitor`, `factor`, `patience`, `min_lr`, `min_delta`, `cooldown`) and their defaults are
    those of `deepfit.train.callbacks.ReduceLROnPlateau`.
    """
    return Plateau(dict(params))


def build_schedule(name: str, lr0: float, *, total_steps: int | None = None, **params: Any) -> Schedule | Plateau:
    """Schedule `name` starting from `lr0` over `total_steps`; unknown names and bad parameters are `ConfigError`s."""
    entry = SCHEDULES.get(name)
    missing = [p.name for p in inspect.signature(entry.constructor).parameters.values()
               if p.kind is p.KEYWORD_ONLY and p.default is p.empty and p.name not in params]
    if missing:
        needs = ", ".join(f"schedule.{m}" for m in missing)
        hint = f" ({_REQUIRED[entry.name]})" if entry.name in _REQUIRED else ""
        raise ConfigError(f"schedule {entry.name!r} needs {needs}{hint}, got none; set it in the config or with "
                          f"--set {needs.split(', ')[0]}=VALUE")
    return SCHEDULES.build(name, lr0, total_steps, **params)


# what a required parameter with no sensible default is, for the error that asks for it
_REQUIRED = {
    "one_cycle": "max_lr, the peak learning rate: about 10x optimizer.lr, or what `deepfit lr-find` suggests",
    "power": "s, the steps after which the lr is lr0 / 2**c",
    "piecewise": "boundaries, the steps where the lr changes, and values, the lr before, between and after them",
}
