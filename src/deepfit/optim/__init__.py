"""Optimizers, learning-rate schedules and the other parts of an update rule, by name."""

from deepfit.optim.clipping import CLIPPERS, Clip, build_clip
from deepfit.optim.constraints import build_max_norm, chain, max_norm_
from deepfit.optim.optimizers import OPTIMIZERS, build_optimizer
from deepfit.optim.penalties import PENALTIES, build_penalty, resolve_penalty
from deepfit.optim.pruning import build_mask_constraint, magnitude_masks, sparsity_report
from deepfit.optim.schedules import (
    SCHEDULES,
    Plateau,
    Schedule,
    ScheduleWithMomentum,
    apply_lr_,
    build_schedule,
    momentum_of,
)

__all__ = [
    "CLIPPERS",
    "OPTIMIZERS",
    "PENALTIES",
    "SCHEDULES",
    "Clip",
    "Plateau",
    "Schedule",
    "ScheduleWithMomentum",
    "apply_lr_",
    "build_clip",
    "build_mask_constraint",
    "build_max_norm",
    "build_optimizer",
    "build_penalty",
    "build_schedule",
    "chain",
    "magnitude_masks",
    "max_norm_",
    "momentum_of",
    "resolve_penalty",
    "sparsity_report",
]
