"""The doctor's repair loop: remedies tried in turn, each checked by training again over seeds, and kept only
when validation accuracy rises beyond the seeds' noise with no new error finding (docs/doctor.md).

The order is AUTOTRAINER's (Zhang et al., ICSE 2021): the top finding's remedies in turn, then the next
finding's; unlike it, a remedy that does not measurably help is undone rather than kept.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from deepfit.config import RunConfig, to_dict
from deepfit.config import shell_overrides as shell_text
from deepfit.data import Splits
from deepfit.diagnose.doctor import (
    DEFAULT_STEPS,
    Diagnosis,
    check_run,
    doctor_config,
    doctor_run,
    read_diagnosis,
    run_context,
)
from deepfit.diagnose.remedies import SplitsCache, SplitsFor, apply_remedy
from deepfit.diagnose.rules import SEVERITIES
from deepfit.diagnose.stats import DoctorProbe
from deepfit.errors import ConfigError
from deepfit.run.sweep import train_groups

MAX_ROUNDS = 3
SEEDS = 2
"""Seeds per trial: two train as members of one group at once (run/sweep.py), for little more than one,
and give a spread to measure gains against."""
MIN_GAIN = 0.01
"""A kept remedy raises mean validation accuracy by more than 1 point..."""
NOISE_FACTOR = 1.0
"""... and by more than the larger range over seeds (max - min) of the two trials, the noise a seed alone
makes, so that a gain a reseed could give is not taken for a cure; and on every seed."""
TRIES_PER_ROUND = 6
"""Trainings per round at most (remedies whose config was tried already, or that are incoherent, are not
trained and do not count)."""


@dataclass
class Trial:
    """One config probed over seeds: its diagnosis on each."""

    config: RunConfig
    diagnoses: list[Diagnosis]

    @property
    def accuracy(self) -> list[float]:
        return [d.accuracy for d in self.diagnoses]

    @property
    def loss(self) -> list[float]:
        return [d.loss for d in self.diagnoses]

    @property
    def diagnosis(self) -> Diagnosis:
        """The first seed's diagnosis with the findings of every seed (a finding on any seed counts)."""
        first = self.diagnoses[0]
        strongest: dict[str, Any] = {}
        for d in self.diagnoses:
            for f in d.findings:
                if f.name not in strongest or f.strength > strongest[f.name].strength:
                    strongest[f.name] = f
        findings = sorted(strongest.values(), key=lambda f: (SEVERITIES.index(f.severity), -f.strength))
        return Diagnosis(findings, first.record, first.context, self.config, first.metrics)

    @property
    def errors(self) -> set[str]:
        return {f.name for f in self.diagnosis.findings if f.severity == "error"}


@dataclass
class Attempt:
    """One remedy tried in round `round`: the finding it came from, its overrides (and those implied for
    coherence), the validation accuracy and loss per seed before and after, and the verdict."""

    round: int
    finding: str
    remedy: list[str]
    implied: list[str]
    before_accuracy: list[float]
    after_accuracy: list[float]
    before_loss: list[float]
    after_loss: list[float]
    kept: bool
    reason: str
    new_errors: list[str] = field(default_factory=list)

    @property
    def overrides(self) -> list[str]:
        return [*self.remedy, *self.implied]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("before_accuracy", "after_accuracy", "before_loss", "after_loss"):
            out[key] = [v if math.isfinite(v) else None for v in out[key]]
        out["shell"] = shell_text(self.overrides)
        return out


@dataclass
class Repair:
    """The repair path: the initial and final diagnoses, every attempt, the remedies kept, the repaired
    config, validation accuracy and loss per seed at both ends, and how the loop ended and why."""

    initial: Diagnosis
    final: Diagnosis
    attempts: list[Attempt]
    kept: list[list[str]]
    config: RunConfig
    seeds: list[int]
    initial_accuracy: list[float]
    final_accuracy: list[float]
    initial_loss: list[float]
    final_loss: list[float]
    outcome: str  # "healthy" (and learning), or "gave_up"
    reason: str

    @property
    def healthy(self) -> bool:
        return self.final.healthy

    @property
    def overrides(self) -> list[str]:
        """Every kept remedy's overrides, a later one replacing an earlier one of the same key (what `--apply`
        writes): `optimizer.lr=0.1` then `optimizer.lr=1` is `optimizer.lr=1`."""
        latest = {o.split("=", 1)[0]: o for remedy in self.kept for o in remedy}
        return list(latest.values())

    def to_dict(self) -> dict[str, Any]:
        def figures(values: list[float]) -> list[float | None]:
            return [v if math.isfinite(v) else None for v in values]

        return {"outcome": self.outcome, "reason": self.reason, "seeds": self.seeds,
                "initial_accuracy": figures(self.initial_accuracy), "final_accuracy": figures(self.final_accuracy),
                "initial_loss": figures(self.initial_loss), "final_loss": figures(self.final_loss),
                "attempts": [a.to_dict() for a in self.attempts], "kept": self.kept,
                "config": to_dict(self.config), "final": self.final.to_dict()}


def probe(cfg: RunConfig, seeds: Sequence[int], *, steps: int, splits_for: SplitsFor, quiet: bool) -> Trial:
    """The doctor's probe training of `cfg` on each seed, the seeds as members of one group where they can."""
    splits = splits_for(cfg)
    check_run(cfg, splits)
    context = run_context(cfg, splits)
    runs = [doctor_config(cfg.model_copy(update={"train": cfg.train.model_copy(update={"seed": s})}), splits, steps)
            for s in seeds]
    diagnoses: list[Diagnosis | None] = [None] * len(runs)
    for group, results in train_groups(runs, splits_for, quiet=quiet, callbacks=lambda: [DoctorProbe()]):
        for i, result in zip(group, results, strict=True):
            diagnoses[i] = read_diagnosis(result, context, cfg)
    return Trial(cfg, [d for d in diagnoses if d is not None])


def judge(before: Trial, after: Trial) -> tuple[bool, str, list[str]]:
    """Whether to keep the remedy that turned `before` into `after`: (keep, why, the new error findings).

    Kept when no error finding appears that `before` had not, accuracy rises on every seed (the seeds are
    paired: the same seed draws the same batches), and the mean gain exceeds
    `max(MIN_GAIN, NOISE_FACTOR * spread)`, the spread being the larger range over seeds of the two trials.
    """
    new = sorted(after.errors - before.errors)
    if not all(math.isfinite(a) for a in after.accuracy):
        return False, "no finite validation accuracy after it", new
    was = [b if math.isfinite(b) else 0.0 for b in before.accuracy]  # a run with no figure scored nothing
    gains = [a - b for a, b in zip(after.accuracy, was, strict=True)]
    spread = max(max(t) - min(t) for t in (was, after.accuracy))
    need, mean = max(MIN_GAIN, NOISE_FACTOR * spread), statistics.fmean(gains)
    if new:
        return False, f"a new error finding: {', '.join(new)}", new
    if min(gains) <= 0:
        return False, f"accuracy did not rise on every seed (gains {_signed(gains)})", new
    if mean <= need:
        return False, (f"mean gain {mean:+.3f} within the noise (needs > {need:.3f} = max({MIN_GAIN}, spread over "
                       f"seeds {spread:.3f}))"), new
    return True, f"mean gain {mean:+.3f} > {need:.3f} on every seed (gains {_signed(gains)})", new


def _signed(values: Sequence[float]) -> str:
    return ", ".join(f"{v:+.3f}" for v in values)


def repair(cfg: RunConfig, *, steps: int = DEFAULT_STEPS, max_rounds: int = MAX_ROUNDS,
           seeds: int | Sequence[int] = SEEDS, splits: Splits | SplitsFor | None = None, quiet: bool = True,
           progress: Callable[[Attempt], None] | None = None) -> Repair:
    """Diagnose `cfg`, then try remedies until it is healthy and learning or `max_rounds` remedies are kept.

    Each round tries the findings' remedies in rank order (each made coherent by `remedies.apply_remedy`;
    configs tried before are skipped), trains each on every seed for `steps` steps and keeps the first that
    `judge` accepts; a round that keeps none ends the loop. `seeds` is a count (from `cfg.train.seed` up)
    or the seeds themselves; `splits` the data of `cfg` (or a function from a config to its data), loaded
    when None. `progress` hears of each attempt when it is judged.

    Raises:
        ConfigError: what `doctor_run` refuses, or `max_rounds` below 1.
    """
    if max_rounds < 1:
        raise ConfigError(f"--max-rounds: expected at least 1, got {max_rounds}")
    seeds = list(range(cfg.train.seed, cfg.train.seed + seeds)) if isinstance(seeds, int) else list(seeds)
    splits_for = SplitsCache(cfg, splits)

    def trial(config: RunConfig) -> Trial:
        return probe(config, seeds, steps=steps, splits_for=splits_for, quiet=quiet)

    initial = current = trial(cfg)
    attempts: list[Attempt] = []
    kept: list[list[str]] = []
    tried = {_key(cfg)}
    reason = ""
    for number in range(1, max_rounds + 1):
        if current.diagnosis.healthy:
            break
        found = _round(number, current, trial, splits_for, tried, attempts, progress)
        if found is None:
            names = ", ".join(f.name for f in current.diagnosis.findings)
            reason = f"round {number}: no remedy of {names} improved validation accuracy beyond the seeds' noise"
            break
        current, remedy = found
        kept.append(remedy)
    final = current.diagnosis
    if final.healthy:
        outcome, reason = "healthy", (f"healthy and learning; {len(kept)} of {len(attempts)} remedies "
                                      "tried kept")
    else:
        outcome = "gave_up"
        still = ", ".join(f.name for f in final.findings) or "not learning"
        reason = reason or f"still {still} after {max_rounds} rounds"
    return Repair(initial.diagnosis, final, attempts, kept, current.config, seeds, initial.accuracy, current.accuracy,
                  initial.loss, current.loss, outcome, reason)


def _key(cfg: RunConfig) -> str:
    return json.dumps(to_dict(cfg), sort_keys=True)


def _round(number: int, current: Trial, trial: Callable[[RunConfig], Trial], splits_for: SplitsFor, tried: set[str],
           attempts: list[Attempt], progress: Callable[[Attempt], None] | None) -> tuple[Trial, list[str]] | None:
    """One round: the first remedy `judge` keeps, with its trial, or None after `TRIES_PER_ROUND` trainings
    or every remedy."""
    trainings = 0
    for finding in current.diagnosis.findings:
        for overrides in finding.remedies:
            if trainings >= TRIES_PER_ROUND:
                return None
            outcome = _attempt(number, finding.name, overrides, current, trial, splits_for, tried)
            if outcome is None:
                continue
            attempt, after = outcome
            attempts.append(attempt)
            if progress is not None:
                progress(attempt)
            trainings += after is not None
            if attempt.kept and after is not None:
                return after, attempt.overrides
    return None


def _attempt(number: int, finding: str, overrides: list[str], current: Trial, trial: Callable[[RunConfig], Trial],
             splits_for: SplitsFor, tried: set[str]) -> tuple[Attempt, Trial | None] | None:
    """One remedy on `current`: its attempt and, when trained, its trial; None for a config tried before."""
    try:
        remedy = apply_remedy(current.config, overrides, splits_for)
    except ConfigError as exc:
        return Attempt(number, finding, overrides, [], current.accuracy, [], current.loss, [], False,
                       f"does not validate: {exc}"), None
    if _key(remedy.config) in tried:
        return None
    tried.add(_key(remedy.config))
    if not remedy.coherent:
        return Attempt(number, finding, remedy.overrides, remedy.implied, current.accuracy, [], current.loss, [],
                       False, "not tried: it leaves " + "; ".join(remedy.problems)), None
    after = trial(remedy.config)
    keep, why, new = judge(current, after)
    return Attempt(number, finding, remedy.overrides, remedy.implied, current.accuracy, after.accuracy,
                   current.loss, after.loss, keep, why, new), after


def fix_run(diagnosis: Diagnosis, *, steps: int = DEFAULT_STEPS, splits: Splits | None = None,
            quiet: bool = True) -> tuple[list[str], Diagnosis] | None:
    """Apply the top finding's first remedy, made coherent, and run the doctor again, without judging:
    (the overrides with the implied ones, the new diagnosis); None when there is nothing to fix. `repair`
    is the loop that verifies."""
    if not diagnosis.findings:
        return None
    remedy = apply_remedy(diagnosis.config, diagnosis.findings[0].remedies[0], SplitsCache(diagnosis.config, splits))
    return remedy.all, doctor_run(remedy.config, steps=steps, quiet=quiet,
                                  splits=None if remedy.changes_data else splits)
