"""Training: the Trainer, its step, callbacks, history, checkpoints and run directories."""

from deepfit.train.callbacks import Callback, Checkpoint, EarlyStopping, ProgressBar
from deepfit.train.history import History
from deepfit.train.objectives import LOSSES, Objective, objective_for
from deepfit.train.run import RunResult, load_run_config, run_training
from deepfit.train.seeding import seed_everything
from deepfit.train.step import build_train_step
from deepfit.train.trainer import Trainer

__all__ = [
    "LOSSES",
    "Callback",
    "Checkpoint",
    "EarlyStopping",
    "History",
    "Objective",
    "ProgressBar",
    "RunResult",
    "Trainer",
    "build_train_step",
    "load_run_config",
    "objective_for",
    "run_training",
    "seed_everything",
]
