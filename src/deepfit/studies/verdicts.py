"""Verdicts on a study's claims: each testable statement decided from paired per-seed differences.

A `Claim` names the variants it compares and the metric; `judge` pairs the runs by seed (same data sample
and split, each variant's own initialisation from that seed) and decides with the paired t-test's 95%
confidence interval of the mean difference (Student 1908; df = seeds - 1, no correction for multiple
comparisons):

```
better(a over b):       d = a - b (sign turned so that d > 0 is the claimed direction); `improves`
                        compares two metrics of one variant's runs the same way
                        supported: CI above 0    refuted: CI below 0    otherwise inconclusive
similar(a, b, margin):  supported: CI inside [-margin, margin] (two one-sided tests, Schuirmann 1987)
                        refuted: CI entirely outside it             otherwise inconclusive
within(a, low, high):   the CI of a's mean, against the range [low, high]
ordering(a > b > ...):  `better` for every claimed pair; supported when every adjacent pair is,
                        refuted when any claimed pair is significantly reversed
```
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from deepfit.report.tables import markdown_table
from deepfit.studies.stats import paired_difference, summarize

SUPPORTED, REFUTED, INCONCLUSIVE = "supported", "refuted", "inconclusive"
# Metrics where a smaller value is better; every other metric (accuracies) is better when larger.
LOWER_IS_BETTER = ("loss", "epochs_to_target", "seconds_per_epoch", "nll", "ece", "diverged", "gap")
TEST = "paired t-test, 95% CI of the mean difference over seeds"


@dataclass(frozen=True)
class Claim:
    """One testable statement of a study's claim.

    Args:
        text: the statement in words, as the summary shows it.
        kind: "better", "similar", "within" or "ordering" (see the module docstring).
        variants: better: (winner, loser); similar: (a, b); within: (a,); ordering: best first.
        metric: a per-run metric of the study (runs.csv column).
        margin: similar: the equivalence margin, in the metric's units.
        bounds: within: the (low, high) range the claim gives.
        chapter: the chapter's own figure for this statement, where it gives one (its single run).
    """

    text: str
    kind: str
    variants: tuple[str, ...]
    metric: str = "val_acc"
    margin: float = 0.0
    bounds: tuple[float, float] | None = None
    chapter: str | None = None

    def __post_init__(self) -> None:
        wanted = {"better": 2, "similar": 2, "within": 1}
        if self.kind not in (*wanted, "ordering"):
            raise ValueError(f"claim {self.text!r}: unknown kind {self.kind!r}")
        if self.kind in wanted and len(self.variants) != wanted[self.kind]:
            raise ValueError(f"claim {self.text!r}: {self.kind} compares {wanted[self.kind]} variant(s)")
        if self.kind == "ordering" and len(self.variants) < 2:
            raise ValueError(f"claim {self.text!r}: an ordering needs at least two variants")
        if self.kind == "within" and self.bounds is None:
            raise ValueError(f"claim {self.text!r}: within needs bounds")


def better(text: str, winner: str, loser: str, metric: str = "val_acc", chapter: str | None = None) -> Claim:
    """`winner` does better than `loser` on `metric` (larger, or smaller for losses, epochs, errors)."""
    return Claim(text, "better", (winner, loser), metric, chapter=chapter)


def similar(text: str, a: str, b: str, margin: float, metric: str = "val_acc", chapter: str | None = None) -> Claim:
    """`a` and `b` differ by less than `margin` on `metric`."""
    return Claim(text, "similar", (a, b), metric, margin=margin, chapter=chapter)


def within(text: str, variant: str, low: float, high: float, metric: str = "val_acc",
           chapter: str | None = None) -> Claim:
    """`variant`'s mean `metric` lies in [low, high]."""
    return Claim(text, "within", (variant,), metric, bounds=(low, high), chapter=chapter)


def improves(text: str, variant: str, metric: str, over: str, chapter: str | None = None) -> Claim:
    """On `variant`'s own runs, `metric` is better than `over` (two figures of one model, e.g. MC Dropout's
    test NLL against the plain prediction's); the pair is written `variant:metric`."""
    return Claim(text, "better", (f"{variant}:{metric}", f"{variant}:{over}"), metric, chapter=chapter)


def ordering(text: str, variants: Sequence[str], metric: str = "val_acc", chapter: str | None = None) -> Claim:
    """`variants` rank in this order on `metric`, best first."""
    return Claim(text, "ordering", tuple(variants), metric, chapter=chapter)


@dataclass
class Verdict:
    """A claim's verdict with the numbers behind it (`estimate`, `low`, `high`: the mean difference and
    its CI, or the mean and its CI for `within`), and for orderings the pairwise table."""

    claim: Claim
    verdict: str
    estimate: float
    low: float
    high: float
    seeds: int
    note: str = ""
    pairs: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        c = self.claim
        return {"claim": c.text, "kind": c.kind, "variants": list(c.variants), "metric": c.metric,
                "margin": c.margin, "bounds": list(c.bounds) if c.bounds else None, "chapter": c.chapter,
                "verdict": self.verdict, "estimate": _finite(self.estimate), "low": _finite(self.low),
                "high": _finite(self.high), "seeds": self.seeds, "test": TEST, "note": self.note,
                "figure": figure(self), "pairs": self.pairs}


def lower_is_better(metric: str) -> bool:
    return any(metric == m or metric.endswith("_" + m) for m in LOWER_IS_BETTER)


def judge(claim: Claim, runs: Sequence[dict[str, Any]]) -> Verdict:
    """The verdict on `claim` from the study's per-run rows (`variant`, `seed` and the metrics).

    Raises:
        ValueError: the claim names a variant or metric the runs do not have.
    """
    values = _values(claim, runs)
    if claim.kind == "within":
        xs = list(values[claim.variants[0]].values())
        s = summarize(xs)
        low, high = s["mean"] - s["ci95"], s["mean"] + s["ci95"]
        lo, hi = claim.bounds or (math.nan, math.nan)
        verdict = SUPPORTED if lo <= low and high <= hi else REFUTED if high < lo or low > hi else INCONCLUSIVE
        return Verdict(claim, _decided(verdict, s["n"]), s["mean"], low, high, s["n"], _censored(claim, runs))
    if claim.kind == "ordering":
        return _ordering(claim, values, runs)
    a, b = claim.variants
    d = _difference(values, a, b, lower_is_better(claim.metric))
    if claim.kind == "better":
        verdict = SUPPORTED if d["low"] > 0 else REFUTED if d["high"] < 0 else INCONCLUSIVE
    else:
        m = claim.margin
        verdict = (SUPPORTED if -m <= d["low"] and d["high"] <= m
                   else REFUTED if d["low"] > m or d["high"] < -m else INCONCLUSIVE)
    return Verdict(claim, _decided(verdict, d["n"]), d["mean"], d["low"], d["high"], d["n"], _censored(claim, runs))


def judge_all(claims: Sequence[Claim], runs: Sequence[dict[str, Any]]) -> list[Verdict]:
    """Every claim's verdict; a claim about variants this run left out (`--variants`) is skipped."""
    present = {r["variant"] for r in runs}
    return [judge(c, runs) for c in claims if {v.partition(":")[0] for v in c.variants} <= present]


def _ordering(claim: Claim, values: dict[str, dict[int, float]], runs: Sequence[dict[str, Any]]) -> Verdict:
    lower = lower_is_better(claim.metric)
    order = claim.variants
    pairs = []
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            d = _difference(values, a, b, lower)
            state = "resolved" if d["low"] > 0 else "reversed" if d["high"] < 0 else "unresolved"
            pairs.append({"better": a, "worse": b, "adjacent": order.index(b) == i + 1,
                          "difference": _finite(d["mean"]), "low": _finite(d["low"]), "high": _finite(d["high"]),
                          "state": state})
    adjacent = [p for p in pairs if p["adjacent"]]
    if any(p["state"] == "reversed" for p in pairs):
        verdict = REFUTED
    elif all(p["state"] == "resolved" for p in adjacent):
        verdict = SUPPORTED
    else:
        verdict = INCONCLUSIVE
    resolved = sum(p["state"] == "resolved" for p in adjacent)
    seeds = min((len(v) for v in values.values()), default=0)
    note = f"{resolved} of {len(adjacent)} adjacent pairs resolved in the claimed order"
    reversed_ = [f"{p['worse']} > {p['better']}" for p in pairs if p["state"] == "reversed"]
    if reversed_:
        note += "; significantly reversed: " + ", ".join(reversed_)
    censored = _censored(claim, runs)
    return Verdict(claim, _decided(verdict, seeds), math.nan, math.nan, math.nan, seeds,
                   note + (f"; {censored}" if censored else ""), pairs)


def _values(claim: Claim, runs: Sequence[dict[str, Any]]) -> dict[str, dict[int, float]]:
    """Per claimed variant, seed -> metric value (epochs_to_target not reached: the run's epochs + 1)."""
    out: dict[str, dict[int, float]] = {v: {} for v in claim.variants}
    wanted = [(name, *name.partition(":")[::2]) for name in claim.variants]  # (key, variant, own metric or "")
    for r in runs:
        for key, variant, own in wanted:
            if r["variant"] != variant:
                continue
            metric = own or claim.metric
            if metric not in r:
                raise ValueError(f"claim {claim.text!r}: the runs have no metric {metric!r}")
            value = float(r[metric])
            if metric == "epochs_to_target" and math.isnan(value):
                value = float(r["epochs"]) + 1  # censored: not reached within the run
            out[key][int(r["seed"])] = value
    missing = [v for v, seeds in out.items() if not seeds]
    if missing:
        raise ValueError(f"claim {claim.text!r}: no runs of variant(s) {missing}")
    return out


def _difference(values: dict[str, dict[int, float]], a: str, b: str, lower: bool) -> dict[str, Any]:
    """The paired difference a - b over the seeds both ran, turned so that > 0 means a is better."""
    seeds = sorted(set(values[a]) & set(values[b]))
    d = paired_difference([values[b][s] for s in seeds], [values[a][s] for s in seeds])
    if lower:
        d = {**d, "mean": -d["mean"], "low": -d["high"], "high": -d["low"]}
    return d


def _censored(claim: Claim, runs: Sequence[dict[str, Any]]) -> str:
    if claim.metric != "epochs_to_target":
        return ""
    names = {v.partition(":")[0] for v in claim.variants}
    n = sum(1 for r in runs if r["variant"] in names and math.isnan(float(r["epochs_to_target"])))
    return f"{n} run(s) never reached the target: counted as their epochs + 1" if n else ""


def _decided(verdict: str, n: int) -> str:
    return verdict if n >= 2 else INCONCLUSIVE  # one seed has no interval


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def figure(v: Verdict) -> str:
    """deepfit's figure for a verdict in words: the difference (a - b, in the metric's own direction) and its
    CI, the mean and its CI against the range, or an ordering's resolved pairs."""
    c = v.claim
    if c.kind == "ordering":
        return v.note
    if c.kind == "within":
        lo, hi = c.bounds or (math.nan, math.nan)
        text = f"{v.estimate:.4g} [{v.low:.4g}, {v.high:.4g}], range [{lo:g}, {hi:g}] (n={v.seeds})"
    else:
        a, b = c.variants
        if ":" in a:  # two figures of one variant: name the figures
            a, b = a.partition(":")[2], b.partition(":")[2]
        sign = "smaller is better, " if lower_is_better(c.metric) else ""
        text = f"{a} - {b}: {_signed(v, c)} [{_ci(v, c)}] ({sign}n={v.seeds})"
        if c.kind == "similar":
            text += f", margin ±{c.margin:g}"
    return text + (f"; {v.note}" if v.note else "")


def verdict_rows(verdicts: Sequence[Verdict]) -> list[dict[str, str]]:
    """One row per verdict: the claim, its metric, deepfit's figure with its CI, the chapter's, the verdict."""
    return [{"claim": v.claim.text, "metric": v.claim.metric, "deepfit": figure(v), "chapter": v.claim.chapter or "–",
             "verdict": v.verdict} for v in verdicts]


def pair_rows(verdict: Verdict) -> list[dict[str, str]]:
    """An ordering's pairwise table: each claimed pair, its paired difference and CI, and its state."""
    return [{"pair": f"{p['better']} > {p['worse']}", "adjacent": "yes" if p["adjacent"] else "",
             "difference": _fmt(p["difference"]), "95% CI": f"[{_fmt(p['low'])}, {_fmt(p['high'])}]",
             "state": p["state"]} for p in verdict.pairs]


HEADER = f"{TEST} (Student t, df = seeds - 1; no correction for multiple comparisons)"


def verdicts_markdown(verdicts: Sequence[Verdict]) -> str:
    """The verdict table, and for each ordering its pairwise table ("" without verdicts)."""
    if not verdicts:
        return ""
    rows = [{**r, "verdict": f"**{r['verdict']}**"} for r in verdict_rows(verdicts)]
    out = [f"## verdicts\n\n{HEADER}\n", markdown_table(rows)]
    for v in verdicts:
        if v.claim.kind == "ordering":
            out.append(f"\n### pairs of the ordering: {v.claim.text} ({v.claim.metric})\n\n"
                       + markdown_table(pair_rows(v)))
    return "\n".join(out)


def _signed(v: Verdict, c: Claim) -> str:
    """The raw difference a - b in the metric's own direction (not turned)."""
    x = -v.estimate if lower_is_better(c.metric) else v.estimate
    return _fmt(x)


def _ci(v: Verdict, c: Claim) -> str:
    lo, hi = (-v.high, -v.low) if lower_is_better(c.metric) else (v.low, v.high)
    return f"{_fmt(lo)}, {_fmt(hi)}"


def _fmt(x: float | None) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:+.4f}"
