"""Performance scheduling: multiply the learning rate by `factor` when the monitored metric stops improving.

Stateful (it depends on validation metrics), so it is a callback, not a pure schedule (optim/schedules.py).
"""

from __future__ import annotations

from typing import Any

from deepfit.errors import ConfigError
from deepfit.train.callbacks.base import CALLBACKS, Callback, Logs, MemberControl, Monitored


@CALLBACKS.register("reduce_lr_on_plateau", summary="multiply the lr by factor when the monitored metric stalls",
                    aliases=("ReduceLROnPlateau",))
class ReduceLROnPlateau(Callback):
    """Reduce the learning rate by `factor` after `patience` epochs without improvement (Keras semantics).

    ```
    improved  = value < best - min_delta          (value > best + min_delta for metrics containing "acc")
    wait      = 0 if improved else wait + 1
    wait >= patience and not cooling down:   lr = max(lr * factor, min_lr);  wait = 0;  cool down `cooldown` epochs
    ```
    Defaults follow Géron's chapter 11 (factor 0.5, patience 5) rather than Keras's (0.1, 10); `min_delta`
    is Keras's 1e-4. The new lr applies from the next epoch, so the history's `lr` is the one each epoch used.
    Per-layer learning-rate factors keep their ratios; with K members, each is scheduled on its own.

    Raises:
        ConfigError: factor outside (0, 1), negative patience, min_lr, min_delta or cooldown; names the field.
    """

    per_member = True

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.5,
        patience: int = 5,
        min_lr: float = 0.0,
        min_delta: float = 1e-4,
        cooldown: int = 0,
    ) -> None:
        if not 0 < factor < 1:
            raise ConfigError(f"schedule 'performance': factor must be in (0, 1), got {factor}")
        for name, value in (
            ("patience", patience),
            ("min_lr", min_lr),
            ("min_delta", min_delta),
            ("cooldown", cooldown),
        ):
            if value < 0:
                raise ConfigError(f"schedule 'performance': {name} must be >= 0, got {value}")
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.min_lr, self.min_delta, self.cooldown = min_lr, min_delta, cooldown
        self.tracker = Monitored(monitor, min_delta, "schedule 'performance'")
        self.wait = 0
        self.cooldown_left = 0
        self.reductions = 0

    @property
    def best(self) -> float:
        return self.tracker.best

    def on_epoch_end(self, view: MemberControl, logs: Logs) -> None:
        value = self.tracker.value(logs)
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self.tracker.improved(value):
            self.tracker.best, self.wait = value, 0
            return
        if self.cooldown_left > 0:
            return
        self.wait += 1
        if self.wait >= self.patience:
            view.set_lr(max(view.lr * self.factor, self.min_lr))
            self.wait, self.cooldown_left = 0, self.cooldown
            self.reductions += 1

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "wait": self.wait,
            "cooldown_left": self.cooldown_left,
            "reductions": self.reductions,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.tracker.best, self.wait = state["best"], state["wait"]
        self.cooldown_left, self.reductions = state["cooldown_left"], state["reductions"]
