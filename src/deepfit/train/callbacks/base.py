"""The callback interface: events at fit and epoch boundaries, and every N steps for progress."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from deepfit.errors import ConfigError

if TYPE_CHECKING:
    from deepfit.train.trainer import Trainer

Logs = dict[str, Any]


class Callback:
    """No-op base. Each event receives `(trainer, logs)`; set `trainer.stop_training = True` to stop.

    Events: `on_fit_begin`, `on_epoch_begin`, `on_steps` (every `trainer.log_every_steps` steps; reading
    a tensor here syncs the device, so only progress display uses it), `on_epoch_end`, `on_fit_end` (always
    runs, even after an exception). Callbacks run in increasing `order`; state that must survive a
    resume goes through `state_dict` / `load_state_dict`.
    """

    order: int = 0

    def on_fit_begin(self, trainer: Trainer, logs: Logs) -> None: ...
    def on_epoch_begin(self, trainer: Trainer, logs: Logs) -> None: ...
    def on_steps(self, trainer: Trainer, logs: Logs) -> None: ...
    def on_epoch_end(self, trainer: Trainer, logs: Logs) -> None: ...
    def on_fit_end(self, trainer: Trainer, logs: Logs) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None


class Monitored:
    """The best value so far of one epoch metric: metrics whose name contains "acc" are maximised, others
    minimised, and only a change larger than `min_delta` counts as an improvement (Keras semantics)."""

    def __init__(self, monitor: str, min_delta: float, who: str) -> None:
        self.monitor, self.min_delta, self.who = monitor, min_delta, who
        self.maximize = "acc" in monitor
        self.best = -math.inf if self.maximize else math.inf

    def value(self, logs: Logs) -> float:
        """The monitored metric of this epoch; a clear error when the logs lack it (no validation split)."""
        if self.monitor not in logs:
            raise ConfigError(
                f"{self.who} monitors {self.monitor!r}, but the epoch logs have only {sorted(logs)}"
                " (is there a validation split? set data.valid)"
            )
        return float(logs[self.monitor])

    def improved(self, value: float) -> bool:
        if self.maximize:
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta
