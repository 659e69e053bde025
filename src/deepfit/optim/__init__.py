"""Optimizers, learning-rate schedules and the other parts of an update rule, by name."""

from deepfit.optim.batched import BATCHED_RULES, BatchedRule, resolve_hyperparameters, rule_for, stack_hyperparameters
from deepfit.optim.clipping import CLIPPERS, Clip, check_threshold
from deepfit.optim.constraints import check_max_norm, max_norm_, max_norm_layers
from deepfit.optim.keras_optimizers import KerasOptimizer
from deepfit.optim.optimizers import OPTIMIZERS, build_optimizer
from deepfit.optim.penalties import PENALTIES, WeightPenalty, layer_penalties, resolve_penalty, stacked_penalty
from deepfit.optim.pruning import apply_masks_, magnitude_masks, sparsity_report
from deepfit.optim.schedules import SCHEDULES, Plateau, Schedule, ScheduleWithMomentum, build_schedule

__all__ = [
    "BATCHED_RULES",
    "CLIPPERS",
    "OPTIMIZERS",
    "PENALTIES",
    "SCHEDULES",
    "BatchedRule",
    "Clip",
    "KerasOptimizer",
    "Plateau",
    "Schedule",
    "ScheduleWithMomentum",
    "WeightPenalty",
    "apply_masks_",
    "build_optimizer",
    "build_schedule",
    "check_max_norm",
    "check_threshold",
    "layer_penalties",
    "magnitude_masks",
    "max_norm_",
    "max_norm_layers",
    "resolve_hyperparameters",
    "resolve_penalty",
    "rule_for",
    "sparsity_report",
    "stack_hyperparameters",
    "stacked_penalty",
]
