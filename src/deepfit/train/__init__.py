"""Training: the engine (update rule, batches, backends, members trained at once), a thin Trainer,
callbacks, history and checkpoints. It knows nothing of configs or runs: that is `deepfit.run`."""

from deepfit.train.callbacks import (
    CALLBACKS,
    Callback,
    Checkpoint,
    EarlyStopping,
    MLflow,
    ProgressBar,
    ReduceLROnPlateau,
    TensorBoard,
)
from deepfit.train.history import History
from deepfit.train.objectives import LOSSES, Objective, objective_for, per_sample
from deepfit.train.seeding import seed_everything
from deepfit.train.trainer import Trainer
from deepfit.train.update import UpdateRule

__all__ = [
    "CALLBACKS",
    "LOSSES",
    "Callback",
    "Checkpoint",
    "EarlyStopping",
    "History",
    "MLflow",
    "Objective",
    "ProgressBar",
    "ReduceLROnPlateau",
    "TensorBoard",
    "Trainer",
    "UpdateRule",
    "objective_for",
    "per_sample",
    "seed_everything",
]
