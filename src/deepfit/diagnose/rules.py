"""The doctor's rules: each reads a probe record (diagnose/stats.py) and names what goes wrong, with evidence
and remedies as deepfit settings. One registry, one function per rule; docs/doctor.md explains each.

A rule returns a `Finding` or None. Thresholds are module constants, each with its reason; a healthy
network must come out clean (tests/diagnose/test_doctor.py runs a catalog of sick and healthy nets).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from deepfit.nn.init import auto_initializer
from deepfit.registry import Registry

Record = dict[str, Any]
Context = dict[str, Any]  # what the run was: activation, init, norm, dropout, standardized, optimizer, lr, task

SEVERITIES = ("error", "warning")

VANISHING_RATIO = 0.01
"""Gradient norm of the first hidden kernel over the last hidden one: below 1/100 the lower layers learn
100 times more slowly than the upper ones, the symptom Glorot & Bengio (2010) describe for deep sigmoid nets."""
EXPLODING_RATIO = 100.0
"""The same ratio above 100: the gradient grows layer by layer towards the input."""
LOSS_SPIKE = 10.0
"""A probe loss this many times the lowest so far is a spike."""
SATURATED_FRACTION = 0.5
"""Half of a sigmoid/tanh layer's outputs within the saturation margin (stats.SATURATION_MARGIN) of an asymptote."""
DEAD_FRACTION = 0.5
"""Half of a ReLU-family layer's units off for every sample of the probe batch: they no longer learn."""
UPDATE_RATIO_HIGH = 3e-2
"""Per-step ||dw|| / ||w|| far above the ~1e-3 of a healthy run (Karpathy's cs231n rule of thumb): adaptive
optimizers run near 1e-3 to 1e-2 early on, so only 3e-2 and above is called too high. (2e-2 would catch
AUTOTRAINER's RMSprop at lr 0.01 with rho 0.68, at 2.7e-2 to 2.9e-2, but the repair loop then rejects leaky
ReLU on Adam at lr 5, 0.10 -> 0.65, because the revived net's steps of 2-3e-2 read as a new error.)"""
UPDATE_RATIO_LOW = 1e-6
"""Per-step ||dw|| / ||w|| a thousand times below ~1e-3: the weights hardly move."""
FLAT_LOSS = 0.02
"""A training loss that fell by less than 2% of its first value over the run is flat."""
OVERFIT_RISE = 1.1
"""A last validation loss 10% above its best, at least `OVERFIT_EPOCHS` epochs after it, while the training
loss still falls: the chapter's sign of overfitting (early stopping would have stopped)."""
OVERFIT_EPOCHS = 3
UNDERFIT_DROP = 0.05
"""Training loss falling less than 5% from the first epoch to the last, and validation level with it."""
INPUT_MEAN, INPUT_STD = 1.0, (0.1, 5.0)
"""Inputs whose overall mean is beyond 1 in magnitude, or whose std lies outside [0.1, 5], are not normalised."""
SELU_DRIFT_MEAN, SELU_DRIFT_VAR = 0.3, (0.5, 2.0)
"""A SELU net's deepest hidden activations at initialisation with |mean| > 0.3 or variance outside [0.5, 2]
have drifted from the (0, 1) fixed point that self-normalization keeps (Klambauer et al. 2017)."""
FROZEN_RATIO = 1e-9
"""A trainable layer whose per-step update ratio stays below 1e-9 while others move is frozen or dead..."""
FROZEN_GRADIENT = 1e-3
"""... unless its gradient is below 1/1000 of the moving layers' (then the gradient vanished)."""


@dataclass(frozen=True)
class Finding:
    """What a rule found: its name, how serious, a one-line summary, where (layers, steps), the numbers
    that triggered it, and remedies as `--set` overrides with the page that explains them."""

    name: str
    severity: str
    summary: str
    evidence: dict[str, Any]
    remedies: list[list[str]]
    docs: str
    layers: list[str] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    strength: float = 1.0  # how far past its threshold (for ranking)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Rule = Callable[[Record, Context], Finding | None]
RULES: Registry[Rule] = Registry("doctor rule")


def _column(probe: Record, key: str) -> list[float]:
    return [row.get(key, math.nan) for row in probe["layers"]]


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _hidden(record: Record) -> list[int]:
    """Indices of the hidden layers (every dense layer but the output)."""
    return list(range(len(record["layers"]) - 1))


def _ratio(probe: Record, record: Record) -> float:
    hidden = _hidden(record)
    norms = _column(probe, "grad_norm")
    if len(hidden) < 2:
        return math.nan
    first, last = norms[hidden[0]], norms[hidden[-1]]
    return first / last if last and math.isfinite(first) and math.isfinite(last) else math.nan


def _rounded(values: Sequence[float]) -> list[float]:
    return [float(f"{v:.3g}") if math.isfinite(v) else v for v in values]


@RULES.register("vanishing_gradients", summary="gradient norm shrinking layer by layer towards the input")
def vanishing_gradients(record: Record, ctx: Context) -> Finding | None:
    """Glorot & Bengio (2010): the first hidden kernel's gradient 100x below the last one's."""
    probes = [p for p in record["probes"] if math.isfinite(_ratio(p, record))]
    if not probes:
        return None
    first = probes[0]
    ratios = [_ratio(p, record) for p in probes]
    ratio = statistics.median(ratios)
    if min(ratio, ratios[0]) >= VANISHING_RATIO:
        return None
    worst = min(ratio, ratios[0])
    how_much = f"{1 / worst:.3g} times smaller than" if worst > 0 else "zero (underflow), unlike"
    return Finding(
        "vanishing_gradients", "error",
        f"the gradient of the first hidden layer is {how_much} that of the last: the lower layers barely learn",
        {"grad_norm_by_layer_at_first_probe": _rounded(_column(first, "grad_norm")),
         "first_over_last_hidden": float(f"{worst:.3g}"), "threshold": VANISHING_RATIO},
        vanishing_remedies(ctx), "docs/initializers.md", layers=[record["layers"][i] for i in _hidden(record)],
        steps=[p["step"] for p in probes], strength=VANISHING_RATIO / max(worst, 1e-30),
    )


def vanishing_remedies(ctx: Context) -> list[list[str]]:
    """The chapter's remedies for vanishing gradients that the run does not already use: a non-saturating
    activation with its initializer, the initializer that suits the activation, batch norm; a shallower
    net when it uses them all."""
    activation, init = ctx.get("activation"), ctx.get("init")
    remedies = []
    if activation in ("sigmoid", "tanh", "softsign", "hard_sigmoid", None):
        remedies += [["model.activation=relu", "model.init=he_normal"],
                     ["model.activation=selu", "model.init=lecun_normal", "data.standardize=true"]]
    elif init != "auto" and str(init).split("_")[0] != auto_initializer(activation).split("_")[0]:
        remedies.append(["model.init=auto"])
    if ctx.get("norm") in (None, "none") and activation != "selu":  # batch norm would break self-normalization
        remedies.append(["model.norm=before"])
    hidden = ctx.get("hidden") or []
    if not remedies and len(hidden) > 2:
        remedies.append([f"model.hidden={list(hidden[: len(hidden) // 2])}"])
    return remedies


@RULES.register("exploding_gradients", summary="gradient growing towards the input, loss spikes or non-finite")
def exploding_gradients(record: Record, ctx: Context) -> Finding | None:
    probes = record["probes"]
    ratios = _finite([_ratio(p, record) for p in probes])
    # a frozen layer's gradient norm is NaN (it has none); an infinite one, or a non-finite loss, is the symptom
    nonfinite = [p["step"] for p in probes
                 if not math.isfinite(p["loss"]) or any(math.isinf(v) for v in _column(p, "grad_norm"))]
    spikes, low = [], math.inf
    for p in probes:
        if math.isfinite(p["loss"]):
            if p["loss"] > LOSS_SPIKE * low:
                spikes.append(p["step"])
            low = min(low, p["loss"])
    growing = ratios and statistics.median(ratios) > EXPLODING_RATIO
    if not (growing or nonfinite or spikes):
        return None
    evidence: dict[str, Any] = {"threshold": EXPLODING_RATIO}
    if ratios:
        evidence["first_over_last_hidden"] = float(f"{statistics.median(ratios):.3g}")
    if spikes:
        evidence["loss_spikes_at_steps"] = spikes
    if nonfinite:
        evidence["non_finite_at_steps"] = nonfinite
    lr = ctx.get("lr")
    selu = ctx.get("activation") == "selu"  # then batch norm would break self-normalization
    remedies = [["clip.name=global_norm", "clip.threshold=1.0"]] + [["model.norm=before"]] * (not selu)
    if lr:
        remedies.insert(1, [f"optimizer.lr={lr / 10:.3g}"])
    return Finding("exploding_gradients", "error",
                   "gradients explode: " + ", ".join(k.replace("_", " ") for k in evidence if k != "threshold"),
                   evidence, remedies, "docs/clipping.md", steps=spikes + nonfinite,
                   strength=max(statistics.median(ratios) / EXPLODING_RATIO if growing else 1.0, 1.0))


@RULES.register("saturation", summary="sigmoid/tanh units stuck at their asymptotes")
def saturation(record: Record, ctx: Context) -> Finding | None:
    last = record["probes"][-1]
    fractions = _column(last, "saturated")
    bad = [i for i, f in enumerate(fractions) if math.isfinite(f) and f > SATURATED_FRACTION]
    if not bad:
        return None
    worst = max(fractions[i] for i in bad)
    return Finding(
        "saturation", "error",
        f"{worst:.0%} of the outputs of {record['layers'][bad[0]]} sit at an asymptote of the activation, where "
        "its slope is nearly zero",
        {"saturated_fraction_by_layer": _rounded(fractions), "threshold": SATURATED_FRACTION},
        [["model.init=glorot_uniform"], ["model.activation=elu", "model.init=he_normal"], ["model.norm=before"]],
        "docs/initializers.md", layers=[record["layers"][i] for i in bad], steps=[last["step"]],
        strength=worst / SATURATED_FRACTION,
    )


@RULES.register("dying_relu", summary="ReLU units inactive for every sample: they no longer learn")
def dying_relu(record: Record, ctx: Context) -> Finding | None:
    last = record["probes"][-1]
    fractions = _column(last, "dead")
    bad = [i for i, f in enumerate(fractions) if math.isfinite(f) and f > DEAD_FRACTION]
    if not bad:
        return None
    worst = max(fractions[i] for i in bad)
    lr = ctx.get("lr")
    remedies = [["model.activation={name=\"leaky_relu\", alpha=0.2}"], ["model.activation=elu"]]
    if lr:
        remedies.append([f"optimizer.lr={lr / 10:.3g}"])
    return Finding(
        "dying_relu", "error",
        f"{worst:.0%} of the units of {record['layers'][bad[0]]} are off for every sample of the probe batch",
        {"dead_fraction_by_layer": _rounded(fractions), "threshold": DEAD_FRACTION},
        remedies, "docs/initializers.md", layers=[record["layers"][i] for i in bad], steps=[last["step"]],
        strength=worst / DEAD_FRACTION,
    )


def _update_ratios(record: Record) -> list[float]:
    """The median per-step update ratio of each probe after the first (over layers that train)."""
    out = []
    for p in record["probes"][1:]:
        values = [v for v in _finite(_column(p, "update_ratio")) if v > 0]
        if values:
            out.append(statistics.median(values))
    return out


def _diverged(record: Record) -> bool:
    return any(not math.isfinite(r.get("loss", 0.0)) for r in record["epochs"]) or any(
        not math.isfinite(p["loss"]) for p in record["probes"])


@RULES.register("lr_too_high", summary="divergence, or updates far larger than the weights allow")
def lr_too_high(record: Record, ctx: Context) -> Finding | None:
    ratios = _update_ratios(record)
    ratio = statistics.median(ratios) if ratios else math.nan
    diverged = _diverged(record)
    if not diverged and not (math.isfinite(ratio) and ratio > UPDATE_RATIO_HIGH):
        return None
    lr = ctx.get("lr")
    evidence: dict[str, Any] = {"diverged": diverged, "threshold": UPDATE_RATIO_HIGH}
    if math.isfinite(ratio):
        evidence["median_update_ratio"] = float(f"{ratio:.3g}")
    remedies = [[f"optimizer.lr={lr / 10:.3g}"]] if lr else []
    remedies.append(["clip.name=global_norm", "clip.threshold=1.0"])
    what = "the loss diverged" if diverged else f"each step changes the weights by {ratio:.2g} of their norm"
    return Finding("lr_too_high", "error", f"the learning rate is too high: {what}", evidence, remedies,
                   "docs/optimizers.md", strength=10.0 if diverged else ratio / UPDATE_RATIO_HIGH)


def _loss_drop(record: Record) -> float:
    """Relative fall of the training loss: from the first epoch to the last, else between the probes."""
    epochs = [r["loss"] for r in record["epochs"] if math.isfinite(r.get("loss", math.nan))]
    if len(epochs) >= 2:
        return (epochs[0] - epochs[-1]) / max(abs(epochs[0]), 1e-12)
    probes = [p["loss"] for p in record["probes"] if math.isfinite(p["loss"])]
    return (probes[0] - probes[-1]) / max(abs(probes[0]), 1e-12) if len(probes) >= 2 else math.nan


@RULES.register("lr_too_low", summary="a flat loss and weights that hardly move")
def lr_too_low(record: Record, ctx: Context) -> Finding | None:
    ratios = _update_ratios(record)
    if not ratios:
        return None
    ratio, drop = statistics.median(ratios), _loss_drop(record)
    if not (ratio < UPDATE_RATIO_LOW and math.isfinite(drop) and drop < FLAT_LOSS):
        return None
    if vanishing_gradients(record, ctx) is not None:
        return None  # the weights stand still because the gradient vanished: that rule's finding, not this one
    lr = ctx.get("lr")
    remedies = [[f"optimizer.lr={lr * 10:.3g}"]] if lr else []
    return Finding("lr_too_low", "warning",
                   f"the learning rate is too low: each step moves the weights by {ratio:.2g} of their norm and "
                   f"the loss fell {drop:.1%}",
                   {"median_update_ratio": float(f"{ratio:.3g}"), "loss_drop": float(f"{drop:.3g}"),
                    "threshold": UPDATE_RATIO_LOW}, remedies, "docs/optimizers.md",
                   strength=UPDATE_RATIO_LOW / max(ratio, 1e-30))


@RULES.register("broken_self_normalization", summary="a SELU net that breaks a condition of self-normalization")
def broken_self_normalization(record: Record, ctx: Context) -> Finding | None:
    if ctx.get("activation") != "selu":
        return None
    violations = list(ctx.get("selfnorm", []))
    first = record["probes"][0]
    hidden = _hidden(record)
    drift: dict[str, float] = {}
    if hidden:
        deepest = first["layers"][hidden[-1]]
        mean, std = deepest.get("act_mean", math.nan), deepest.get("act_std", math.nan)
        var = std * std
        if math.isfinite(mean) and (abs(mean) > SELU_DRIFT_MEAN or not SELU_DRIFT_VAR[0] <= var <= SELU_DRIFT_VAR[1]):
            drift = {"deepest_mean": float(f"{mean:.3g}"), "deepest_var": float(f"{var:.3g}")}
    if not violations and not drift:
        return None
    fixes = {"standardised inputs": "data.standardize=true", "LeCun normal initialisation": "model.init=lecun_normal",
            "alpha dropout only": "model.dropout_kind=alpha", "no batch norm": "model.norm=none model.input_norm=false"}
    remedies = [[o for v in violations for o in fixes.get(v["condition"], "").split()] or [  # all at once: one
        "model.init=lecun_normal", "data.standardize=true"]]  # fix alone leaves the net as broken as it was
    broken = ", ".join(f"{v['condition']} ({v['found']})" for v in violations) or "activations drift across depth"
    return Finding("broken_self_normalization", "warning", f"this SELU net will not self-normalize: {broken}",
                   {"conditions": violations, **drift}, remedies, "docs/selfnorm.md")


@RULES.register("overfitting", summary="validation loss rising while training loss falls")
def overfitting(record: Record, ctx: Context) -> Finding | None:
    rows = [r for r in record["epochs"] if math.isfinite(r.get("val_loss", math.nan))]
    if len(rows) < OVERFIT_EPOCHS + 2:
        return None
    best = min(range(len(rows)), key=lambda i: rows[i]["val_loss"])
    last = rows[-1]
    rising = last["val_loss"] > OVERFIT_RISE * rows[best]["val_loss"] and len(rows) - 1 - best >= OVERFIT_EPOCHS
    if not (rising and last["loss"] < rows[best]["loss"]):
        return None
    remedies = [["train.early_stopping={patience=3, restore_best=true}"], ["model.dropout=0.2"],
                ['regularization.penalty={name="l2", l2=1e-4}']]
    if ctx.get("images"):
        remedies.append(["regularization.augment.shift=2"])
    return Finding("overfitting", "warning",
                   f"the validation loss was lowest at epoch {rows[best]['epoch']} and is "
                   f"{last['val_loss'] / rows[best]['val_loss'] - 1:.0%} higher {len(rows) - 1 - best} epochs later, "
                   "while the training loss still falls",
                   {"best_epoch": rows[best]["epoch"], "best_val_loss": float(f"{rows[best]['val_loss']:.4g}"),
                    "last_val_loss": float(f"{last['val_loss']:.4g}"), "threshold": OVERFIT_RISE},
                   remedies, "docs/regularization.md",
                   strength=last["val_loss"] / rows[best]["val_loss"] / OVERFIT_RISE)


@RULES.register("underfitting", summary="training loss high and flat, validation level with it")
def underfitting(record: Record, ctx: Context) -> Finding | None:
    rows = [r for r in record["epochs"] if math.isfinite(r.get("loss", math.nan))]
    if len(rows) < 3 or _diverged(record):
        return None
    drop = (rows[0]["loss"] - rows[-1]["loss"]) / max(abs(rows[0]["loss"]), 1e-12)
    level = "val_loss" not in rows[-1] or rows[-1]["val_loss"] <= 1.1 * rows[-1]["loss"]
    if drop >= UNDERFIT_DROP or not level:
        return None
    lr = ctx.get("lr")
    remedies = [["model.hidden=[300, 300, 100]"], ["train.epochs=50"]]
    if lr:
        remedies.insert(0, [f"optimizer.lr={lr * 3:.3g}"])
    return Finding("underfitting", "warning",
                   f"the training loss fell only {drop:.1%} in {len(rows)} epochs and validation is level with it",
                   {"loss_first": float(f"{rows[0]['loss']:.4g}"), "loss_last": float(f"{rows[-1]['loss']:.4g}"),
                    "threshold": UNDERFIT_DROP}, remedies, "docs/optimizers.md")


@RULES.register("unnormalised_inputs", summary="inputs far from mean 0 and std 1")
def unnormalised_inputs(record: Record, ctx: Context) -> Finding | None:
    first = record["probes"][0]
    mean, std = first["input_mean"], first["input_std"]
    if ctx.get("input_norm") or (abs(mean) <= INPUT_MEAN and INPUT_STD[0] <= std <= INPUT_STD[1]):
        return None  # (batch norm on the inputs normalises them)
    return Finding("unnormalised_inputs", "warning",
                   f"the inputs have mean {mean:.3g} and std {std:.3g}: standardise them so every layer starts in "
                   "its good range", {"input_mean": float(f"{mean:.3g}"), "input_std": float(f"{std:.3g}")},
                   [["data.standardize=true"], ["model.input_norm=true"]], "docs/batchnorm.md")


@RULES.register("frozen_layer", summary="a trainable layer whose weights do not move")
def frozen_layer(record: Record, ctx: Context) -> Finding | None:
    """A layer that gets a gradient like the others' but does not move (a zero lr factor, a stuck optimizer
    state), or gets none at all. A layer that does not move because its gradient vanished is
    `vanishing_gradients`' finding, not this one."""
    probes = record["probes"][1:]
    if len(probes) < 2:
        return None
    ratios = list(zip(*[_column(p, "update_ratio") for p in probes], strict=True))
    grads = list(zip(*[_column(p, "grad_norm") for p in probes], strict=True))
    medians = [statistics.median(_finite(c)) if _finite(c) else math.nan for c in ratios]
    grad = [statistics.median(_finite(c)) if _finite(c) else math.nan for c in grads]
    moving = [i for i, m in enumerate(medians) if math.isfinite(m) and m > UPDATE_RATIO_LOW]
    if not moving:
        return None
    typical = statistics.median(grad[i] for i in moving if math.isfinite(grad[i])) if any(
        math.isfinite(grad[i]) for i in moving) else math.nan
    still = [i for i, m in enumerate(medians) if math.isfinite(m) and m < FROZEN_RATIO
             and (grad[i] == 0 or not math.isfinite(typical) or grad[i] > FROZEN_GRADIENT * typical)]
    if not still:
        return None
    names = [record["layers"][i] for i in still]
    return Finding("frozen_layer", "warning", f"{', '.join(names)} do not change while the other layers train",
                   {"update_ratio_by_layer": _rounded(medians), "threshold": FROZEN_RATIO},
                   [["model.activation={name=\"leaky_relu\", alpha=0.2}"]] + [["transfer.unfreeze=all"]] * bool(
                       ctx.get("transfer")),  # unfreezing needs a run that reuses a saved model's layers
                   "docs/transfer.md", layers=names)


def diagnose_record(record: Record, context: Context, rules: Sequence[str] | None = None) -> list[Finding]:
    """Every rule's finding on `record`, most serious first (errors, then warnings; stronger first)."""
    if not record.get("probes"):
        return []
    findings = [f for name in (rules or RULES.names()) if (f := RULES.build(name, record, context)) is not None]
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), -f.strength))
