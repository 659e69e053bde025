"""Write a resumable checkpoint every N epochs (after every other callback, so their state is included)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepfit.train.callbacks.base import CALLBACKS, Callback, Logs
from deepfit.train.checkpoint import save_checkpoint


@CALLBACKS.register("checkpoint", summary="a resumable checkpoint (weights, optimizer, RNG, history) every N epochs")
class Checkpoint(Callback):
    """Save the trainer's whole state (weights, optimizer state, step, RNG states, histories, callback states)
    atomically; the trainer gives its own `state_dict`.

    With `history_csv`, the history so far is also written there at each checkpoint, so a running (or
    killed) run's `history.csv` can be read before the run ends. `meta` (plain strings, numbers, lists and
    dicts) is stored with every checkpoint as this callback's state: the run layer keeps the run's config
    there, to compare it with the config a resume is given.
    """

    order = 100

    def __init__(
        self, path: str | Path, every_epochs: int = 1, history_csv: str | Path | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.path, self.every_epochs = Path(path), every_epochs
        self.history_csv = None if history_csv is None else Path(history_csv)
        self.meta = dict(meta or {})

    def state_dict(self) -> dict[str, Any]:
        return {"meta": self.meta}

    def on_epoch_end(self, trainer: Any, logs: Logs) -> None:
        if trainer.epoch % self.every_epochs == 0 or trainer.stop_training or trainer.epoch == trainer.epochs:
            if self.history_csv is not None:
                trainer.history.to_csv(self.history_csv)
            save_checkpoint(trainer.state_dict(), self.path)
