"""Write a resumable checkpoint every N epochs (after every other callback, so their state is included)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from deepfit.train.callbacks.base import Callback, Logs
from deepfit.train.checkpoint import save_checkpoint

if TYPE_CHECKING:
    from deepfit.train.trainer import Trainer


class Checkpoint(Callback):
    """Save model, optimizer, schedule position, RNG states, history and callback states atomically."""

    order = 100

    def __init__(self, path: str | Path, every_epochs: int = 1) -> None:
        self.path, self.every_epochs = Path(path), every_epochs

    def on_epoch_end(self, trainer: Trainer, logs: Logs) -> None:
        if trainer.epoch % self.every_epochs == 0 or trainer.stop_training or trainer.epoch == trainer.epochs:
            save_checkpoint(trainer, self.path)
