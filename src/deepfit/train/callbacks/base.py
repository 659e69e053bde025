"""The callback interface: events at fit and epoch boundaries, and every N steps for progress."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
