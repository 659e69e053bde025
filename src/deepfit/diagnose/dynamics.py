"""The doctor's rules on the course of training: an oscillating accuracy, a slow convergence (AUTOTRAINER's
`unstable_loss` and `sc_accuracy`, Zhang et al., ICSE 2021), and a batch size far from what the learning
rate needs. Each reads the probe record (diagnose/stats.py) and the run's context, as diagnose/rules.py's do.
"""

from __future__ import annotations

import itertools
import math
import statistics
from typing import Any

from deepfit.diagnose.rules import (
    RULES,
    Context,
    Finding,
    Record,
    _update_ratios,
    exploding_gradients,
    lr_too_high,
)

OSCILLATION_AMPLITUDE = 0.05
"""A swing of the probe batch's accuracy from a local maximum to the next local minimum of at least 5 points
counts. AUTOTRAINER's `ol_judge` counts swings of at least zeta = 0.03 (its default parameters; the
function's own default is 0.05) in the accuracy of whole epochs; the probe batch holds 128 samples, so one
sample is 0.8 points and 0.05 asks for a swing of 7 samples. Healthy runs swing that far now and then (the
reference and guideline presets: at most 2 such swings in the 17 judged probes of a 300-step doctor run on
Fashion-MNIST, against the 4 that `OSCILLATION_RATE` needs)."""
OSCILLATION_NOISE_Z = 3.0
"""... and at least 3 standard errors of the difference of two accuracies on the probe batch,
sqrt(2 p (1 - p) / n) for n samples at accuracy p: the batch is probed in training mode (dropout on) while
the weights move, so single predictions flip between probes, and a slowly learning net near p = 0.2 on 128
samples swings by 8-12 points with no overshoot at all (tests/diagnose/test_doctor.py's repaired sigmoid
net). Three standard errors make that 15 points there, 13 at p = 0.85."""
OSCILLATION_RATE = 0.2
"""It oscillates when such swings number at least a fifth of the probes: AUTOTRAINER's eta = 0.2."""
OSCILLATION_FROM = 0.3
"""Only the probes after the first 30% of the run are judged, as AUTOTRAINER judges from 30% of the
epochs on (`judgment_point`): the first steps' fast climb is learning, not oscillation."""
SLOW_GAIN = 0.01
"""Slow convergence: the largest gain in accuracy from one epoch to the next (counting from the untrained
net's accuracy on the probe batch) below 0.01 for both training and validation: AUTOTRAINER's delta."""
SLOW_EPOCHS = 3
"""Slow convergence is judged on at least 3 epochs (a doctor run has 4-6 on a few thousand images)."""
SLOW_LOSS_LEFT = 0.5
"""... or AUTOTRAINER's `not_converge` (accuracy short of a satisfying level), made independent of the
dataset's accuracy scale: the run left more than half of the untrained net's loss on the probe batch, though
that loss fell (one that rose is the lr rules' finding). The seven healthy controls of
benchmarks/doctor_cases.py keep 6-13% of it after a 300-step doctor run on Fashion-MNIST, a net at a
hundredth of its learning rate 28-37%."""
SLOW_UPDATE_RATIO, SLOW_UPDATE_LOSS_LEFT = 2e-4, 0.25
"""... or steps too small to finish in the run: a median per-step update ratio ||dw|| / ||w|| five times
below the ~1e-3 of a healthy run (Karpathy's cs231n rule of thumb: lower means the learning rate is
probably too low) while more than a quarter of the untrained net's probe loss is left. Measured on 300-step
doctor runs of Fashion-MNIST: TheDeepChecker's SGD at lr 0.001 moves 1.6e-4 and leaves 28-37% (validation
0.69-0.70 against the controls' 0.82); plain SGD at lr 0.01 moves 2.6e-4 and leaves 16% (validation 0.79);
the healthy controls move 1.1e-3 to 3.4e-3 and leave 6-13%."""
REFERENCE_LR = {"sgd": (0.1, 256), "adaptive": (1e-3, 32)}
"""(lr, batch size) a learning rate is scaled from: SGD's 0.1 for a batch of 256 (Goyal et al. 2017, the
linear scaling rule lr = 0.1 * B / 256); the adaptive optimizers' 1e-3 of Kingma & Ba (2015) at Keras's
default batch of 32, scaled by the square root of the batch (Malladi et al. 2022, the square-root rule)."""
ADAPTIVE = frozenset({"adam", "adamw", "nadam", "adamax", "rmsprop", "adagrad", "ftrl"})
"""The optimizers that scale each step by the gradients' own statistics (their `keras_` forms too)."""


def is_adaptive(optimizer: str | None) -> bool:
    """Whether `optimizer` (a registry name) is adaptive: `keras_adam` as `adam` (the Keras convention)."""
    return (optimizer or "").removeprefix("keras_") in ADAPTIVE

BATCH_LR_FACTOR = 30.0
"""The learning rate more than 30 times above (or below) the one the scaling rule gives for the batch. The
rules are starting points, not optima: a factor of 3 either way is common in tuned runs, so only a factor of
30 (the gradient noise, ∝ lr / B (Smith & Le 2018), 30 times the rule's) is called far."""
SMALL_BATCH, LARGE_BATCH = 16, 1024
"""The rule speaks of a batch size only at the extremes: up to 16 (noisy steps; AUTOTRAINER's `op_batch`
tries batches 2, 4 and 8 times larger on an unstable run) and from 1024 (few steps per epoch; Goyal et al.
2017 keep the linear rule's lr up to batches of 8k). In between, a wrong lr is the lr rules' finding."""


def _swing_levels(values: list[float]) -> list[float]:
    """The mean of each swing's maximum and minimum, paired as `swings` pairs them."""
    inner = range(1, len(values) - 1)
    maxima = [values[i] for i in inner if values[i] >= values[i - 1] and values[i] >= values[i + 1]]
    minima = [values[i] for i in inner if values[i] <= values[i - 1] and values[i] <= values[i + 1]]
    return [(high + low) / 2 for high, low in zip(maxima, minima, strict=False)]


def _swing_threshold(level: float, samples: int | None) -> float:
    """The smallest swing that counts at accuracy `level` on `samples` probe samples (unknown: the amplitude)."""
    if not samples:
        return OSCILLATION_AMPLITUDE
    noise = math.sqrt(2 * level * (1 - level) / samples)
    return max(OSCILLATION_AMPLITUDE, OSCILLATION_NOISE_Z * noise)


def _accuracies(record: Record) -> list[float]:
    return [p.get("acc", math.nan) for p in record["probes"]]


def swings(values: list[float]) -> list[float]:
    """The amplitudes of the swings of a curve, AUTOTRAINER's `ol_judge` pairing: the i-th local maximum
    minus the i-th local minimum (interior points at least / at most both neighbours)."""
    inner = range(1, len(values) - 1)
    maxima = [values[i] for i in inner if values[i] >= values[i - 1] and values[i] >= values[i + 1]]
    minima = [values[i] for i in inner if values[i] <= values[i - 1] and values[i] <= values[i + 1]]
    return [high - low for high, low in zip(maxima, minima, strict=False)]


@RULES.register("oscillating_accuracy", summary="the probe batch's accuracy swings up and down (AUTOTRAINER)")
def oscillating_accuracy(record: Record, ctx: Context) -> Finding | None:
    """AUTOTRAINER's oscillating loss (Zhang et al. 2021, `ol_judge`): at least a fifth of the probes are
    swings of 5 points or more in the accuracy of the fixed probe batch."""
    accs = _accuracies(record)
    judged = accs[math.ceil(OSCILLATION_FROM * len(accs)):]
    if len(judged) < 5 or not all(math.isfinite(a) for a in judged):
        return None
    samples = record["probes"][-1].get("samples")
    big = [s for s, level in zip(swings(judged), _swing_levels(judged), strict=False)
           if s >= _swing_threshold(level, samples)]
    if len(big) < OSCILLATION_RATE * len(judged):
        return None
    lr, batch, optimizer = ctx.get("lr"), ctx.get("batch_size"), ctx.get("optimizer")
    remedies = []
    if not is_adaptive(optimizer):
        remedies.append(["optimizer.name=adam", "optimizer.lr=0.001"])
    if lr:
        remedies.append([f"optimizer.lr={lr / 10:.3g}"])
    if batch and batch < LARGE_BATCH:
        remedies.append([f"train.batch_size={batch * 4}"])  # the middle of AUTOTRAINER's x2, x4, x8
    return Finding("oscillating_accuracy", "warning",
                   f"the probe batch's accuracy swings by {max(big):.0%} up and down ({len(big)} swings of "
                   f"{OSCILLATION_AMPLITUDE:.0%} or more in {len(judged)} probes): the steps overshoot",
                   {"swings": [float(f"{s:.3g}") for s in big], "probes_judged": len(judged),
                    "threshold": float(f"{_swing_threshold(statistics.fmean(judged), samples):.3g}")},
                   remedies, "docs/optimizers.md",
                   steps=[p["step"] for p in record["probes"][len(accs) - len(judged):]],
                   strength=len(big) / (OSCILLATION_RATE * len(judged)))


def _gains(values: list[float]) -> float:
    return max(b - a for a, b in itertools.pairwise(values))


def _loss_left(record: Record) -> float:
    """The probe batch's last loss over its loss at step 0; NaN unless both are finite and it fell."""
    probes = record["probes"]
    if len(probes) < 3 or probes[0]["step"] != 0:
        return math.nan
    first, last = probes[0]["loss"], probes[-1]["loss"]
    if not (math.isfinite(first) and math.isfinite(last)) or not 0 < last <= first:
        return math.nan
    return last / first


@RULES.register("slow_convergence", summary="accuracy gaining under a point per epoch, or most of the loss left")
def slow_convergence(record: Record, ctx: Context) -> Finding | None:
    """AUTOTRAINER's slow convergence (`sc_accuracy`, delta = 0.01): no epoch raised the training or the
    validation accuracy by a point, counting from the untrained net's accuracy on the probe batch; or its
    `not_converge`: the run left more than half of the untrained net's probe loss; or steps too small
    (`SLOW_UPDATE_RATIO`) with a quarter of that loss left."""
    rows = [r for r in record["epochs"] if math.isfinite(r.get("acc", math.nan))]
    start = _accuracies(record)[0] if record["probes"] else math.nan
    if len(rows) < SLOW_EPOCHS or not math.isfinite(start) or record["probes"][0]["step"] != 0:
        return None
    train = _gains([start] + [r["acc"] for r in rows])
    valid = _gains([start] + [r["val_acc"] for r in rows]) if all("val_acc" in r for r in rows) else -math.inf
    left = _loss_left(record)
    stalled = max(train, valid) < SLOW_GAIN
    ratios = _update_ratios(record)
    small_steps = bool(ratios) and statistics.median(ratios) < SLOW_UPDATE_RATIO and left > SLOW_UPDATE_LOSS_LEFT
    if not stalled and not small_steps and not (math.isfinite(left) and left > SLOW_LOSS_LEFT):
        return None
    if lr_too_high(record, ctx) is not None or exploding_gradients(record, ctx) is not None:
        return None  # steps too large, not too small: those rules' finding (this one would raise the lr)
    lr, optimizer = ctx.get("lr"), ctx.get("optimizer")
    remedies = [[f"optimizer.lr={lr * 10:.3g}"]] if lr else []
    if not is_adaptive(optimizer):
        remedies.insert(0, ["optimizer.name=adam", "optimizer.lr=0.001"])
    what = (f"no epoch raised the accuracy by {SLOW_GAIN:.0%} (best gain {max(train, valid):.1%})" if stalled else
            f"{left:.0%} of the untrained net's loss is left after the run")
    if small_steps and not stalled and left <= SLOW_LOSS_LEFT:
        what += f", each step moving the weights by {statistics.median(ratios):.2g} of their norm"
    return Finding("slow_convergence", "warning",
                   f"in {len(rows)} epochs {what}: the network converges too slowly to learn in this run",
                   {"largest_gain_train": float(f"{train:.3g}"), "largest_gain_valid": float(f"{valid:.3g}"),
                    "loss_left": float(f"{left:.3g}"), "threshold": SLOW_GAIN,
                    "median_update_ratio": float(f"{statistics.median(ratios):.3g}") if ratios else None},
                   remedies, "docs/optimizers.md",
                   strength=SLOW_GAIN / max(max(train, valid), 1e-3) if stalled else left / SLOW_LOSS_LEFT)


def scaled_lr(optimizer: str, batch: int) -> float:
    """The learning rate the scaling rule gives for `batch` (`REFERENCE_LR`): linear for SGD and momentum,
    square root for the adaptive optimizers."""
    if is_adaptive(optimizer):
        lr0, batch0 = REFERENCE_LR["adaptive"]
        return lr0 * math.sqrt(batch / batch0)
    lr0, batch0 = REFERENCE_LR["sgd"]
    return lr0 * batch / batch0


def _batch_for(optimizer: str, lr: float) -> int:
    """The batch size (a power of 2 in [32, 1024)) closest to the one the scaling rule pairs with `lr`."""
    lr0, batch0 = REFERENCE_LR["adaptive" if is_adaptive(optimizer) else "sgd"]
    batch = batch0 * ((lr / lr0) ** 2 if is_adaptive(optimizer) else lr / lr0)
    return int(min(max(2 ** round(math.log2(max(batch, 1.0))), 32), LARGE_BATCH // 2))


@RULES.register("batch_size_for_lr", summary="a batch far too small or too large for the learning rate")
def batch_size_for_lr(record: Record, ctx: Context) -> Finding | None:
    """The learning rate against the one the scaling rule gives for the batch (Goyal et al. 2017; Malladi
    et al. 2022), at batches of at most 16 or at least 1024."""
    lr, batch, optimizer = ctx.get("lr"), ctx.get("batch_size"), str(ctx.get("optimizer"))
    if not lr or not batch:
        return None
    rule_lr = scaled_lr(optimizer, batch)
    factor = lr / rule_lr
    small = batch <= SMALL_BATCH and factor > BATCH_LR_FACTOR
    large = batch >= LARGE_BATCH and factor < 1 / BATCH_LR_FACTOR
    if not (small or large):
        return None
    evidence: dict[str, Any] = {"batch_size": batch, "lr": lr, "rule_lr": float(f"{rule_lr:.3g}"),
                                "lr_over_rule": float(f"{factor:.3g}"), "threshold": BATCH_LR_FACTOR}
    if small:
        summary = (f"a batch of {batch} is far too small for lr {lr:g}: the rule gives lr {rule_lr:.2g} at this "
                   f"batch, {factor:.0f} times less, so each step is mostly noise")
    else:
        summary = (f"a batch of {batch} is far too large for lr {lr:g}: the rule gives lr {rule_lr:.2g} at this "
                   f"batch, {1 / factor:.0f} times more, and an epoch has few steps")
    # lr first for a small batch, as AUTOTRAINER tries a lower lr before a larger batch on an unstable run;
    # a smaller batch first for a large one (more steps per epoch at the same lr)
    remedies = [[f"optimizer.lr={rule_lr:.3g}"], [f"train.batch_size={_batch_for(optimizer, lr)}"]]
    if large:
        remedies.reverse()
    return Finding("batch_size_for_lr", "warning", summary, evidence, remedies, "docs/optimizers.md",
                   strength=max(factor, 1 / factor) / BATCH_LR_FACTOR)
