"""Callbacks: behaviour at fit and epoch boundaries."""

from deepfit.train.callbacks.base import Callback
from deepfit.train.callbacks.checkpoint import Checkpoint
from deepfit.train.callbacks.early_stopping import EarlyStopping
from deepfit.train.callbacks.progress import ProgressBar
from deepfit.train.callbacks.reduce_lr import ReduceLROnPlateau

__all__ = ["Callback", "Checkpoint", "EarlyStopping", "ProgressBar", "ReduceLROnPlateau"]
