"""Learning-rate schedules as pure functions of the step (nanoGPT's `get_lr`); one applier writes them.

Plateau scheduling depends on validation metrics, so it is a callback in train/callbacks, not here.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from deepfit.errors import ConfigError
from deepfit.registry import Registry

Schedule = Callable[[int], float]
SCHEDULES: Registry[Schedule] = Registry("schedule")


@SCHEDULES.register("constant", summary="lr0 throughout")
def constant(lr0: float) -> Schedule:
    return lambda step: lr0


@SCHEDULES.register("exponential", summary="lr0 * 0.1 ** (step / s): divide by 10 every s steps")
def exponential(lr0: float, s: int) -> Schedule:
    """Exponential scheduling (Géron, ch. 11): decay smoothly by a factor of 10 every `s` steps."""
    if s <= 0:
        raise ConfigError(f"schedule 'exponential': s must be > 0, got {s}")
    return lambda step: lr0 * 0.1 ** (step / s)


def apply_lr_(optimizer: torch.optim.Optimizer, schedule: Schedule, lr0: float, step: int) -> float:
    """Set every param group's lr to `schedule(step)`, scaled by the group's own base lr over `lr0`.

    The scaling keeps per-group learning rates (e.g. lower ones for reused layers) in proportion.
    """
    lr = schedule(step)
    for group in optimizer.param_groups:
        group["lr"] = lr * group.setdefault("initial_lr", group["lr"]) / lr0
    return lr


def build_schedule(name: str, lr0: float, **params: object) -> Schedule:
    """Schedule `name` starting from `lr0`; unknown names and parameters are `ConfigError`s."""
    return SCHEDULES.build(name, lr0, **params)
