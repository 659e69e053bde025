"""Callbacks: behaviour at fit and epoch boundaries."""

from deepfit.train.callbacks.base import CALLBACKS, Callback
from deepfit.train.callbacks.checkpoint import Checkpoint
from deepfit.train.callbacks.early_stopping import EarlyStopping
from deepfit.train.callbacks.progress import ProgressBar
from deepfit.train.callbacks.reduce_lr import ReduceLROnPlateau
from deepfit.train.callbacks.tensorboard import ProbedTensorBoard, TensorBoard
from deepfit.train.callbacks.tracking import MLflow

__all__ = ["CALLBACKS", "Callback", "Checkpoint", "EarlyStopping", "MLflow", "ProbedTensorBoard", "ProgressBar",
           "ReduceLROnPlateau", "TensorBoard"]
