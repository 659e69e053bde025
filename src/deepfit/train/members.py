"""A member of a group: its model, seed, update rule, history, own callbacks and status, and the view of it
that per-member callbacks get."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from deepfit.train.callbacks.base import Callback, FitView
from deepfit.train.history import History
from deepfit.train.update import Update, UpdateRule


@dataclass
class Member:
    """One model trained in a group. `status` is `training`, `stopped` (a callback stopped it, at
    `stopped_epoch`) or `diverged` (its loss became non-finite; its weights went back to the last epoch
    with a finite loss). A member that is not training keeps its weights while the others go on."""

    model: nn.Module
    seed: int
    rule: UpdateRule | None  # None: a member that only evaluates
    history: History
    callbacks: dict[int, Callback]  # the Trainer's callback index -> this member's own copy
    status: str = "training"
    stopped_epoch: int = 0
    note: str = ""
    diverged: dict[str, Any] = field(default_factory=dict)

    @property
    def training(self) -> bool:
        return self.status == "training"

    def stop(self, epoch: int, note: str = "") -> None:
        if self.training:
            self.status, self.stopped_epoch, self.note = "stopped", epoch, note

    def diverge(self, epoch: int, last_finite_loss: float | None) -> None:
        """Mark the member diverged at `epoch`; `last_finite_loss` is the mean training loss of the epoch before."""
        finite = last_finite_loss is not None and math.isfinite(last_finite_loss)
        self.status, self.stopped_epoch = "diverged", epoch
        self.diverged = {"epoch": epoch, "last_finite_loss": last_finite_loss if finite else None}
        before = f"; the epoch before, the mean training loss was {last_finite_loss:.4g}" if finite else ""
        self.note = (
            f"the training loss became non-finite (NaN or inf) in epoch {epoch}{before}; the weights are those at "
            "the end of the last finite epoch. Try a lower learning rate or gradient clipping ([clip])"
        )

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history.rows, "status": self.status, "stopped_epoch": self.stopped_epoch,
                "note": self.note, "diverged": self.diverged,
                "callbacks": {type(c).__name__: c.state_dict() for c in self.callbacks.values()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = History(state["history"])
        self.status, self.stopped_epoch = state["status"], state["stopped_epoch"]
        self.note, self.diverged = state["note"], state["diverged"]
        for c in self.callbacks.values():
            if type(c).__name__ in state["callbacks"]:
                c.load_state_dict(state["callbacks"][type(c).__name__])


class MemberView:
    """What a per-member callback sees: its member's model, history and learning rate, the fit's epoch
    counters, and `stop_training`, which stops this member only (train/callbacks/base.py: `MemberControl`)."""

    def __init__(self, fit: FitView, member: Member, k: int, update: Update, objective: Any) -> None:
        self._fit, self._member, self._k, self._update, self._objective = fit, member, k, update, objective

    @property
    def epoch(self) -> int:
        return self._fit.epoch

    @property
    def epochs(self) -> int:
        return self._fit.epochs

    @property
    def step(self) -> int:
        return self._fit.step

    @property
    def model(self) -> nn.Module:
        return self._member.model

    @property
    def history(self) -> History:
        return self._member.history

    @property
    def objective(self) -> Any:
        return self._objective

    @property
    def stop_training(self) -> bool:
        return not self._member.training

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        if value:
            self._member.stop(self._fit.epoch)

    @property
    def lr(self) -> float:
        """The member's current learning rate (before per-layer factors)."""
        return self._update.lr(self._k)

    def set_lr(self, lr: float) -> None:
        """Train this member at `lr` from the next epoch on (performance scheduling)."""
        self._update.set_lr(self._k, lr)
