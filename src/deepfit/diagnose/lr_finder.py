"""The learning-rate finder: grow the lr exponentially over about one epoch and watch the smoothed loss.

It trains a throw-away copy of the model (with fresh optimizer state), so the model and its Trainer are
unaffected. Plotting lives in report/ and the command in cli/lr_find.py.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from deepfit.data import TensorData
from deepfit.errors import ConfigError
from deepfit.train import Trainer

MIN_DROP = 0.01
"""The smoothed loss must fall 1% below its start for the finder to suggest a learning rate."""


@dataclass(frozen=True)
class LRFinderResult:
    """The finder's curve and its two readings; `suggestion` is None when the loss never decreased.

    `steepest_lr` is where the smoothed loss falls fastest against log(lr) (fastai's "steep"), ignoring the
    first 10% of the points, whose average is over few batches; `min_loss_lr`
    is the lr of the lowest smoothed loss. `suggestion` is min_loss_lr / 10, Géron's rule of thumb (ch. 11:
    "about 10 times lower than the turning point").
    """

    lrs: list[float]
    losses: list[float]  # exponentially smoothed, bias-corrected
    raw_losses: list[float]
    steepest_lr: float | None
    min_loss_lr: float | None
    diverged: bool
    message: str

    @property
    def suggestion(self) -> float | None:
        return self.min_loss_lr / 10 if self.min_loss_lr is not None else None


def find_lr(
    trainer: Trainer,
    train: TensorData,
    *,
    start_lr: float = 1e-6,
    end_lr: float = 10.0,
    steps: int | None = None,
    smoothing: float = 0.98,
    diverge: float = 4.0,
) -> LRFinderResult:
    """Run the LR range test (Smith 2017, arXiv:1506.01186) on a copy of `trainer`'s model.

    ```
    lr_i     = start_lr * (end_lr / start_lr) ** (i / (steps - 1))
    avg_i    = smoothing * avg_{i-1} + (1 - smoothing) * loss_i          avg_{-1} = 0
    smooth_i = avg_i / (1 - smoothing ** (i + 1))                        bias correction
    stop when smooth_i > diverge * min(smooth_0..i) or the loss is not finite
    ```
    Args:
        steps: number of lr values; defaults to one epoch of `trainer.batch_size` batches (at least 10).
        smoothing: weight of the running average, in [0, 1).
        diverge: stop once the smoothed loss exceeds this multiple of its minimum, > 1.

    The copy trains with the trainer's update rule (optimizer, penalty, clipping, per-layer learning-rate
    factors), its lr following the ramp. The loss is read back every step (one sync per step) because
    divergence must stop the sweep; this is a diagnostic, not training.
    """
    if not trainer.trainable:
        raise TypeError("find_lr needs a Trainer with an update rule")
    _check_args(start_lr, end_lr, steps, smoothing, diverge)
    steps = steps or max(10, math.ceil(len(train) / trainer.batch_size))
    member = trainer.members[0]

    def ramp(step: int) -> float:
        return start_lr * (end_lr / start_lr) ** (step / max(1, steps - 1))

    sweep = Trainer(
        copy.deepcopy(member.model),
        trainer.objective,
        dataclasses.replace(member.rule, schedule=ramp, schedule_interval="step"),
        batch_size=trainer.batch_size,
        device=trainer.device,
        seed=member.seed,
        augment=trainer.group.augment,
        engine="eager",
    )
    lrs, raw, smooth = [], [], []
    avg, best, diverged = 0.0, math.inf, False
    for i, loss in enumerate(sweep.step_losses(train, steps)):
        avg = smoothing * avg + (1 - smoothing) * loss
        value = avg / (1 - smoothing ** (i + 1))
        lrs.append(ramp(i))
        raw.append(loss)
        smooth.append(value)
        if not math.isfinite(value) or value > diverge * best:
            diverged = True
            break
        best = min(best, value)
    return _read_curve(lrs, raw, smooth, diverged)


def _check_args(start_lr: float, end_lr: float, steps: int | None, smoothing: float, diverge: float) -> None:
    if not 0 < start_lr < end_lr:
        raise ConfigError(f"lr finder: need 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}")
    if steps is not None and steps < 2:
        raise ConfigError(f"lr finder: steps must be >= 2, got {steps}")
    if not 0 <= smoothing < 1:
        raise ConfigError(f"lr finder: smoothing must be in [0, 1), got {smoothing}")
    if not diverge > 1:
        raise ConfigError(f"lr finder: diverge must be > 1, got {diverge}")


def _read_curve(lrs: list[float], raw: list[float], smooth: list[float], diverged: bool) -> LRFinderResult:
    finite = [i for i, v in enumerate(smooth) if math.isfinite(v)]
    span = f"between lr {lrs[0]:.3g} and {lrs[-1]:.3g}" if lrs else "(no steps)"
    if len(finite) < 3:
        return LRFinderResult(lrs, smooth, raw, None, None, diverged, f"too few finite losses {span} to read")
    values = np.array([smooth[i] for i in finite])
    best = int(np.argmin(values))
    if best == 0 or values[best] > values[0] * (1 - MIN_DROP):
        message = (
            f"the loss never decreased {span}: no learning rate to suggest "
            "(try a lower start_lr, another optimizer, or check the data and model)"
        )
        return LRFinderResult(lrs, smooth, raw, None, None, diverged, message)
    # the first points are few-sample averages (bias correction), too noisy to read a slope from
    skip = min(max(1, len(finite) // 10), best - 1)
    log_lr = np.log10([lrs[i] for i in finite[: best + 1]])
    slope = np.gradient(values[: best + 1], log_lr)
    steepest = lrs[finite[skip + int(np.argmin(slope[skip:]))]]
    min_loss_lr = lrs[finite[best]]
    message = (
        f"suggested lr {min_loss_lr / 10:.3g} (min-loss lr {min_loss_lr:.3g} / 10); "
        f"steepest descent at lr {steepest:.3g}"
    )
    return LRFinderResult(lrs, smooth, raw, steepest, min_loss_lr, diverged, message)
