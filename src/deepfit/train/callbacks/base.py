"""The callback interface: events at fit and epoch boundaries, every N steps for progress, and the probe event.

A callback sees a narrow view of the training (`FitView`), not the Trainer class. A callback with
`per_member = True` (early stopping, performance scheduling, probes) watches one member: with K members
trained at once, each gets its own copy and sees only its member (`MemberView`).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from torch import nn

from deepfit.errors import ConfigError
from deepfit.registry import Registry
from deepfit.train.history import History

Logs = dict[str, Any]


class FitView(Protocol):
    """What a callback can see and change of the training it watches.

    `epoch` counts completed epochs (the current one during `on_epoch_end`), `epochs` is the fit's target,
    `step` counts optimizer steps. Setting `stop_training = True` stops it (for a member: that member).
    """

    epoch: int
    epochs: int
    step: int
    stop_training: bool

    @property
    def history(self) -> History: ...

    @property
    def model(self) -> nn.Module: ...


class MemberControl(FitView, Protocol):
    """A member's view: besides `FitView`, its learning rate (for performance scheduling) and objective."""

    @property
    def lr(self) -> float: ...

    def set_lr(self, lr: float) -> None: ...

    @property
    def objective(self) -> Any: ...


class Callback:
    """No-op base. Each event receives `(view, logs)`.

    Events: `on_fit_begin` (logs: `epochs`, `input_shape` of one sample), `on_epoch_begin` (logs: `epoch`,
    `steps`), `on_steps` (about every `progress_every_s` seconds, after a whole step; reading
    `logs["loss_sum"]` syncs the device, so only progress display uses it),
    `on_probe` (every `probe_every` steps and before the first, outside the training step, with a fixed
    probe batch in `logs["x"]`, `logs["y"]`; the Trainer restores batch-norm statistics and RNG state
    afterwards), `on_epoch_end` (the epoch's row), `on_fit_end` (always runs, even after an exception).
    Callbacks run in increasing `order`; state that must survive a resume goes through `state_dict` /
    `load_state_dict`.
    """

    order: int = 0
    per_member: bool = False

    def on_fit_begin(self, view: Any, logs: Logs) -> None: ...
    def on_epoch_begin(self, view: Any, logs: Logs) -> None: ...
    def on_steps(self, view: Any, logs: Logs) -> None: ...
    def on_probe(self, view: Any, logs: Logs) -> None: ...
    def on_epoch_end(self, view: Any, logs: Logs) -> None: ...
    def on_fit_end(self, view: Any, logs: Logs) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None


CALLBACKS: Registry[Callback] = Registry("callback")


def probes(callback: Callback) -> bool:
    """Whether `callback` listens to the probe event (so the Trainer must run it)."""
    return type(callback).on_probe is not Callback.on_probe


class Monitored:
    """The best value so far of one epoch metric: metrics whose name contains "acc" are maximised, others
    minimised, and only a change larger than `min_delta` counts as an improvement (Keras semantics). A
    non-finite value is never an improvement."""

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
        if not math.isfinite(value):
            return False
        if self.maximize:
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta
