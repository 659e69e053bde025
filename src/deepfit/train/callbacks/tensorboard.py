"""TensorBoard event files: each epoch's figures as scalars, per-layer weight histograms, and per-layer
gradient norms on the probe event when the run probes (`tensorboard --logdir <run>/tensorboard`).

Event files are append-only logs that TensorBoard reads while they grow, so they are written by
`torch.utils.tensorboard.SummaryWriter` itself rather than through deepfit's atomic writes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from deepfit.errors import MissingDependencyError
from deepfit.train.callbacks.base import CALLBACKS, Callback, Logs
from deepfit.train.gradients import gradient_norms


class TensorBoard(Callback):
    """Write every numeric figure of the epoch's row (loss, acc, val_loss, val_acc, lr, ...) as a scalar at
    step = epoch, and with `histograms` a histogram of each parameter (`weights/<name>`), into `log_dir`.

    One model per Trainer: a group of K members would write K runs into one directory.
    """

    order = 80  # after early stopping and performance scheduling, so the row is final
    per_member = True  # the member's view carries the objective the probe's gradients need

    def __init__(self, log_dir: str | Path, *, histograms: bool = True) -> None:
        self.log_dir, self.histograms = Path(log_dir), histograms
        self._writer: Any = None

    def on_fit_begin(self, view: Any, logs: Logs) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise MissingDependencyError(
                "train.tensorboard needs the tensorboard package: pip install 'deepfit[tensorboard]'"
            ) from None
        self._writer = SummaryWriter(log_dir=str(self.log_dir))

    def on_epoch_end(self, view: Any, logs: Logs) -> None:
        epoch = int(logs["epoch"])
        for key, value in logs.items():
            if key != "epoch" and isinstance(value, int | float) and not isinstance(value, bool):
                self._writer.add_scalar(key, float(value), epoch)
        if self.histograms:
            for name, param in view.model.named_parameters():
                values = param.detach().float().cpu()
                if bool(torch.isfinite(values).all()):  # a diverged member's NaN would break the histogram
                    self._writer.add_histogram(f"weights/{name}", values, epoch)
        self._writer.flush()

    def on_fit_end(self, view: Any, logs: Logs) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class ProbedTensorBoard(TensorBoard):
    """`TensorBoard` that also writes each layer's gradient norm on the fixed probe batch at every probe event
    (`grad_norm/<layer>` at step = optimizer step). Listening to probes makes the Trainer run them, so the
    run layer chooses this class only when the run probes anyway (`--diagnose`)."""

    def on_probe(self, view: Any, logs: Logs) -> None:
        names, norms = gradient_norms(view.model, view.objective, logs["x"], logs["y"])
        for name, norm in zip(names, norms, strict=True):
            if math.isfinite(norm):
                self._writer.add_scalar(f"grad_norm/{name}", norm, int(logs["step"]))


@CALLBACKS.register("tensorboard", summary="TensorBoard event files: epoch scalars, weight histograms, probe "
                    "gradient norms")
def tensorboard(log_dir: str | Path, *, probes: bool = False, histograms: bool = True) -> TensorBoard:
    """A `TensorBoard` callback writing into `log_dir`; with `probes` (the run probes anyway), one that also
    records per-layer gradient norms at every probe event."""
    return (ProbedTensorBoard if probes else TensorBoard)(log_dir, histograms=histograms)
