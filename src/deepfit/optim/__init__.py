"""Optimizers, learning-rate schedules and the other parts of an update rule, by name."""

from deepfit.optim.optimizers import OPTIMIZERS, build_optimizer
from deepfit.optim.schedules import SCHEDULES, Schedule, apply_lr_, build_schedule

__all__ = ["OPTIMIZERS", "SCHEDULES", "Schedule", "apply_lr_", "build_optimizer", "build_schedule"]
