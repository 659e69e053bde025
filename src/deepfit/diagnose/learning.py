"""The rule that a network at chance is never healthy: `not_learning`, with its likely causes ranked from the
probe record. It reads the run's class frequencies from the context (`diagnose.doctor.run_context`).

Registered into `RULES` beside the symptom rules of diagnose/rules.py, so every diagnosis runs it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from deepfit.diagnose.dynamics import is_adaptive
from deepfit.diagnose.rules import (
    RULES,
    Context,
    Finding,
    Record,
    _column,
    _finite,
    _loss_drop,
    _ratio,
    _update_ratios,
    vanishing_remedies,
)

NEAR_CHANCE = 0.1
"""An accuracy that covered less than 10% of the way from chance (the majority class's frequency, 1/K for
K balanced classes) to 1 is at chance: 0.19 for ten balanced classes, 0.55 for two."""
PRIOR_LOSS_MARGIN = 0.05
"""A final cross-entropy within 5% of the entropy of the class frequencies (the loss of predicting the
frequencies for every sample, ln K = 2.30 for ten balanced classes) is no better than knowing the priors."""
SOFT = {"vanishing": 0.1, "exploding": 10.0, "dead": 0.25, "saturated": 0.25, "updates_large": 1e-2,
        "updates_small": 1e-4, "flat_loss": 0.1}
"""Looser than the symptom rules' thresholds (10x for the ratios, half for the fractions): a net at chance
is explained by a milder symptom than the one a learning net is flagged for."""



def chance_level(frequencies: Sequence[float]) -> float:
    """The accuracy of always predicting the most frequent class (1/K for K balanced classes)."""
    return max(frequencies)


def prior_loss(frequencies: Sequence[float]) -> float:
    """The cross-entropy of predicting the class frequencies `p` for every sample: `-sum p ln p`."""
    return -sum(p * math.log(p) for p in frequencies if p > 0)


def final_scores(record: Record) -> tuple[float, float]:
    """(accuracy, loss) of the last epoch: validation figures where the run has them, else training ones."""
    rows = record.get("epochs") or []
    if not rows:
        return math.nan, math.nan
    last = rows[-1]
    acc = last.get("val_acc", last.get("acc", math.nan))
    loss = last.get("val_loss", last.get("loss", math.nan))
    return float(acc), float(loss)


def learning(record: Record, ctx: Context) -> bool:
    """Whether the run learns: its final accuracy clear of chance and its loss clear of the priors' loss.

    True when the context has no class frequencies or the record no epoch (nothing to judge by).
    """
    frequencies = ctx.get("class_frequencies")
    acc, loss = final_scores(record)
    if not frequencies or (math.isnan(acc) and math.isnan(loss)):
        return True
    chance = chance_level(frequencies)
    at_chance = not acc >= chance + NEAR_CHANCE * (1 - chance)  # NaN (no accuracy recorded) counts as at chance
    priors = prior_loss(frequencies)
    near_priors = abs(loss - priors) <= PRIOR_LOSS_MARGIN * priors  # far above it with a good accuracy: learning,
    # if overconfident (a diverged net's NaN loss comes with an accuracy at chance)
    return not (at_chance or near_priors)


def likely_causes(record: Record) -> list[dict[str, Any]]:
    """The symptoms the probe record shows past the soft thresholds `SOFT`, most pronounced first.

    Each is `{"cause", "measure", "score"}`; the score is the number of decades past the soft threshold for
    the ratios (gradients, updates) and the excess over it in units of the threshold for the fractions
    and the loss's fall, so that 1 means "as far again past it" in every case.
    """
    causes: list[dict[str, Any]] = []

    def add(cause: str, measure: float, score: float) -> None:
        causes.append({"cause": cause, "measure": float(f"{measure:.3g}"), "score": round(score, 2)})

    probes = record.get("probes") or []
    ratios = _finite([_ratio(p, record) for p in probes])
    if ratios:
        low, mid = min(ratios[0], statistics.median(ratios)), statistics.median(ratios)
        if low < SOFT["vanishing"]:
            add("vanishing", low, math.log10(SOFT["vanishing"] / max(low, 1e-30)))
        if mid > SOFT["exploding"]:
            add("exploding", mid, math.log10(mid / SOFT["exploding"]))
    if probes:
        for kind in ("dead", "saturated"):
            worst = max(_finite(_column(probes[-1], kind)), default=math.nan)
            if worst > SOFT[kind]:
                add(kind, worst, (worst - SOFT[kind]) / SOFT[kind])
    updates = _update_ratios(record)
    if updates:
        median = statistics.median(updates)
        if median > SOFT["updates_large"]:
            add("updates_large", median, math.log10(median / SOFT["updates_large"]))
        elif 0 < median < SOFT["updates_small"]:
            add("updates_small", median, math.log10(SOFT["updates_small"] / median))
    drop = _loss_drop(record)
    if not math.isfinite(drop):
        add("diverged", math.nan if math.isnan(drop) else drop, 10.0)
    elif drop < SOFT["flat_loss"]:
        add("flat_loss", drop, (SOFT["flat_loss"] - drop) / SOFT["flat_loss"])
    return sorted(causes, key=lambda c: -c["score"])


def _remedies_for(cause: str, ctx: Context) -> list[list[str]]:
    lr = ctx.get("lr")
    slower = [[f"optimizer.lr={lr / 10:.3g}"]] if lr else []
    faster = [[f"optimizer.lr={lr * 10:.3g}"]] if lr else []
    adaptive = [] if is_adaptive(ctx.get("optimizer")) else [["optimizer.name=nadam", "optimizer.lr=0.001"]]
    return {
        "vanishing": vanishing_remedies(ctx),
        "saturated": vanishing_remedies(ctx),
        "exploding": [["clip.name=global_norm", "clip.threshold=1.0"], *slower],
        "updates_large": [*slower, ["clip.name=global_norm", "clip.threshold=1.0"]],
        "diverged": [*slower, ["clip.name=global_norm", "clip.threshold=1.0"]],
        "dead": [['model.activation={name="leaky_relu", alpha=0.2}'], *slower],
        "updates_small": [*adaptive, *faster],
        "flat_loss": [*adaptive, *faster],
    }[cause]


def not_learning_remedies(causes: Sequence[dict[str, Any]], ctx: Context) -> list[list[str]]:
    """The remedies of each likely cause in turn (duplicates once); an adaptive optimizer and a larger
    learning rate when no cause shows."""
    remedies: list[list[str]] = []
    for cause in [c["cause"] for c in causes] or ["flat_loss"]:
        remedies += [r for r in _remedies_for(cause, ctx) if r not in remedies]
    return remedies


@RULES.register("not_learning", summary="validation accuracy at chance, or a loss no better than the priors'")
def not_learning(record: Record, ctx: Context) -> Finding | None:
    """A run whose final accuracy is within `NEAR_CHANCE` of chance, or whose loss is within
    `PRIOR_LOSS_MARGIN` of the loss of predicting the class frequencies, is not learning, whatever else the
    rules say; the evidence ranks the likely causes (`likely_causes`) and the remedies follow them."""
    if learning(record, ctx):
        return None
    frequencies = ctx["class_frequencies"]
    acc, loss = final_scores(record)
    chance, priors = chance_level(frequencies), prior_loss(frequencies)
    causes = likely_causes(record)
    why = ", ".join(c["cause"].replace("_", " ") for c in causes[:3]) or "no symptom past the soft thresholds"
    return Finding(
        "not_learning", "error",
        f"the network is not learning: accuracy {acc:.3g} against {chance:.3g} by chance, loss {loss:.3g} against "
        f"{priors:.3g} for predicting the class frequencies; likely causes: {why}",
        {"accuracy": float(f"{acc:.3g}"), "chance": float(f"{chance:.3g}"), "loss": float(f"{loss:.3g}"),
         "prior_loss": float(f"{priors:.3g}"), "threshold": NEAR_CHANCE, "causes": causes},
        not_learning_remedies(causes, ctx), "docs/doctor.md",
        strength=1.0 + (chance + NEAR_CHANCE * (1 - chance) - acc if math.isfinite(acc) else 1.0),
    )
