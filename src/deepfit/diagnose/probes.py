"""Probes on layers, run on the Trainer's probe event: per-layer gradient norms on a fixed probe batch.

The probe event comes every N steps, outside the training step, with batch-norm statistics and RNG state
restored afterwards (train/trainer.py: `Trainer.probing`), so probing never changes what training does.
"""

from __future__ import annotations

from typing import Any

from deepfit.train.callbacks.base import Callback, Logs
from deepfit.train.gradients import gradient_norms

__all__ = ["GradientNormProbe", "gradient_norms"]


class GradientNormProbe(Callback):
    """Records per-layer gradient norms on the probe event: before the first step (`init`) and, for each
    epoch, at its last probe (`last`, the one at the epoch's end) and averaged over its probes (`mean`).

    `record` is JSON-ready: `{"layers": [...], "init": [...], "epochs": {"1": {"last": [...], "mean": [...]}}}`.
    One per member when K members train at once.
    """

    per_member = True

    def __init__(self) -> None:
        self.record: dict[str, Any] = {"layers": [], "init": [], "epochs": {}}
        self._epoch: list[list[float]] = []

    def on_probe(self, view: Any, logs: Logs) -> None:
        names, norms = gradient_norms(view.model, view.objective, logs["x"], logs["y"])
        self.record["layers"] = names
        if logs["step"] == 0:
            self.record["init"] = norms
        else:
            self._epoch.append(norms)

    def on_epoch_end(self, view: Any, logs: Logs) -> None:
        if self._epoch:
            mean = [sum(col) / len(col) for col in zip(*self._epoch, strict=True)]
            self.record["epochs"][str(logs["epoch"])] = {"last": self._epoch[-1], "mean": mean}
        self._epoch = []
