"""Early stopping: stop when the monitored metric stops improving, and optionally restore the best weights."""

from __future__ import annotations

from typing import Any

from deepfit.errors import ConfigError
from deepfit.train.callbacks.base import CALLBACKS, Callback, FitView, Logs, Monitored


@CALLBACKS.register("early_stopping", summary="stop when the monitored metric stops improving; restore the best")
class EarlyStopping(Callback):
    """Stop after `patience` epochs without an improvement larger than `min_delta` (Keras semantics).

    Metrics whose name contains "acc" are maximised, others minimised. With `restore_best`, the weights
    of the best epoch are put back when fitting ends; an epoch whose metric is not finite (a diverged
    member) is never the best. Under dropout, training loss is measured with dropout on, so compare
    `val_loss` with the training loss from `deepfit evaluate --split train`. With K members trained at
    once, each member stops on its own.
    """

    per_member = True

    def __init__(
        self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, restore_best: bool = True
    ) -> None:
        if patience < 0:
            raise ConfigError(f"early stopping: patience must be >= 0, got {patience}")
        if min_delta < 0:
            raise ConfigError(f"early stopping: min_delta must be >= 0, got {min_delta}")
        self.monitor, self.patience, self.min_delta, self.restore_best = monitor, patience, min_delta, restore_best
        self.tracker = Monitored(monitor, min_delta, "early stopping")
        self.best_epoch = 0
        self.stopped_epoch = 0  # the epoch after which it stopped training; 0 while it has not
        self.wait = 0
        self.best_weights: dict[str, Any] | None = None

    @property
    def best(self) -> float:
        return self.tracker.best

    def on_epoch_end(self, view: FitView, logs: Logs) -> None:
        value = self.tracker.value(logs)
        if self.tracker.improved(value):
            self.tracker.best, self.best_epoch, self.wait = value, int(logs["epoch"]), 0
            if self.restore_best:
                self.best_weights = {k: v.detach().clone() for k, v in view.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                view.stop_training = True
                self.stopped_epoch = int(logs["epoch"])

    def on_fit_end(self, view: FitView, logs: Logs) -> None:
        if self.restore_best and self.best_weights is not None:
            view.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "stopped_epoch": self.stopped_epoch,
            "wait": self.wait,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.tracker.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.stopped_epoch = state.get("stopped_epoch", 0)  # absent from checkpoints written before it was kept
        self.best_weights = state["best_weights"]
