"""Remedies as config transformations: a finding's `--set` overrides applied to a config, completed with the
settings they imply, validated like any config and checked by the static rules (config.shell_overrides prints
them for a shell). Which remedies to try, and whether one helped, is diagnose/repair.py's part.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from deepfit.config import RunConfig, apply_overrides, config_from_dict, parse_override, to_dict
from deepfit.config import compact_override as compact
from deepfit.data import Splits
from deepfit.diagnose.doctor import run_context
from deepfit.diagnose.learning import prior_loss
from deepfit.diagnose.rules import Finding, diagnose_record
from deepfit.nn.init import auto_initializer
from deepfit.run import load_splits
from deepfit.run.setup import dense_spec

SplitsFor = Callable[[RunConfig], Splits]
PROBE_SAMPLES = 128  # the probe batch: the first 128 training samples (train.Trainer's probe_size)
IMPLY_ROUNDS = 3  # a remedy's implied settings may imply more (SELU -> alpha dropout -> ...): at most 3 steps


class SplitsCache:
    """Each config's splits, loaded once per data section (and seed, when a validation fraction is drawn
    with it): a remedy is checked and trained on the data it was made for. `given` answers for `cfg`."""

    def __init__(self, cfg: RunConfig, given: Splits | SplitsFor | None) -> None:
        self.load: SplitsFor = given if callable(given) else load_splits
        self.cache: dict[str, Splits] = {} if given is None or callable(given) else {self.key(cfg): given}

    @staticmethod
    def key(cfg: RunConfig) -> str:
        seeded = cfg.train.seed if isinstance(cfg.data.valid, float) else None
        return json.dumps([cfg.data.model_dump(mode="json"), seeded], sort_keys=True)

    def __call__(self, cfg: RunConfig) -> Splits:
        key = self.key(cfg)
        if key not in self.cache:
            self.cache[key] = self.load(cfg)
        return self.cache[key]


@dataclass(frozen=True)
class Remedy:
    """A remedy applied to a config: the finding's overrides, those its coherence implied, the resulting
    config, and the static findings it still leaves that the config had not before (empty: coherent)."""

    overrides: list[str]
    implied: list[str]
    config: RunConfig
    problems: list[str] = field(default_factory=list)

    @property
    def all(self) -> list[str]:
        """Every override, the finding's first: what `--set` (or `--apply`) needs to reproduce the config."""
        return [*self.overrides, *self.implied]

    @property
    def coherent(self) -> bool:
        return not self.problems

    @property
    def changes_data(self) -> bool:
        """Whether the data changes (standardisation): its splits must be loaded again."""
        return any(o.startswith("data.") for o in self.all)

    def to_dict(self) -> dict[str, Any]:
        return {"overrides": self.overrides, "implied": self.implied, "problems": self.problems}


def with_overrides(cfg: RunConfig, overrides: Sequence[str]) -> RunConfig:
    """`cfg` with `overrides` applied and validated (a `ConfigError` names the remedy when it fails)."""
    data = apply_overrides(to_dict(cfg), [parse_override(o) for o in overrides])
    return config_from_dict(data, source="remedy " + " ".join(overrides))


def static_record(splits: Splits, context: dict[str, Any]) -> dict[str, Any]:
    """A probe record with no layer and one probe before training: the inputs' statistics on the probe
    batch and, as loss, that of predicting the class frequencies. The rules that fire on it read only the
    run's context and its data, never the training (`static_findings`)."""
    x = splits.train.x[:PROBE_SAMPLES].float()
    loss = prior_loss(context["class_frequencies"]) if context.get("class_frequencies") else 1.0
    probe = {"step": 0, "epoch": 0, "lr": context.get("lr"), "steps_since": 0, "loss": loss,
             "input_mean": float(x.mean()), "input_std": float(x.std()), "layers": []}
    return {"layers": [], "activations": [], "probes": [probe], "epochs": []}


def static_findings(cfg: RunConfig, splits: Splits) -> list[Finding]:
    """The findings any rule makes on `cfg` before it trains: self-normalization conditions, unnormalised
    inputs, settings that clash with each other. A remedy must not leave one that was not there before."""
    context = run_context(cfg, splits)
    return diagnose_record(static_record(splits, context), context)


def apply_remedy(cfg: RunConfig, remedy: Sequence[str], splits_for: SplitsFor = load_splits) -> Remedy:
    """`remedy` applied to `cfg` and made coherent.

    The activation's companions follow it: a new activation gets its own initializer (`nn.init.
    auto_initializer`, Géron table 11-1) unless the remedy names one or the run's already suits it, and
    alpha dropout (SELU's) becomes standard dropout on any other activation. Then every static finding
    (`static_findings`) that the result has and `cfg` had not is met by its first remedy, in up to
    `IMPLY_ROUNDS` steps (switching to SELU brings LeCun init, standardised inputs, no batch norm and alpha
    dropout this way, from the `broken_self_normalization` rule); an implied setting never overrides one
    the remedy gives. What remains is listed in `problems`, and the repair loop does not try that remedy.

    Raises:
        ConfigError: the remedy does not validate on `cfg` (a rule's bug: its remedies must validate).
    """
    splits_for = splits_for if isinstance(splits_for, SplitsCache) else SplitsCache(cfg, splits_for)
    overrides = [compact(o) for o in remedy]
    given = {o.split("=", 1)[0] for o in overrides}
    before = run_context(cfg, splits_for(cfg))
    known = {f.name for f in static_findings(cfg, splits_for(cfg))}
    after = with_overrides(cfg, overrides)
    implied = _companions(before, run_context(after, splits_for(after)), given)
    problems: list[Finding] = []
    for _ in range(IMPLY_ROUNDS + 1):
        current = with_overrides(after, implied)
        problems = [f for f in static_findings(current, splits_for(current)) if f.name not in known]
        extra = [compact(o) for f in problems for o in (f.remedies[0] if f.remedies else [])]
        extra = [o for o in dict.fromkeys(extra) if o.split("=", 1)[0] not in given | _keys(implied)]
        extra = [o for o in extra if _changes(current, o, splits_for)]
        if not problems or not extra:
            break
        implied += extra
    return Remedy(overrides, implied, with_overrides(after, implied), [f"{f.name}: {f.summary}" for f in problems])


def _keys(overrides: Sequence[str]) -> set[str]:
    return {o.split("=", 1)[0] for o in overrides}


def _changes(cfg: RunConfig, override: str, splits_for: SplitsFor) -> bool:
    """Whether `override` changes what `cfg` builds (`model.input_norm=false` on a config that leaves it
    unset does not: the network's own default is off)."""
    changed = with_overrides(cfg, [override])
    if override.startswith("model."):
        splits = splits_for(cfg)
        return dense_spec(changed, splits, "a remedy") != dense_spec(cfg, splits, "a remedy")
    return to_dict(changed) != to_dict(cfg)


def _companions(before: dict[str, Any], after: dict[str, Any], given: set[str]) -> list[str]:
    """The settings a change of activation implies: the new activation's initializer, and standard dropout
    in place of alpha dropout off SELU."""
    if after["activation"] == before["activation"]:
        return []
    implied = []
    own = auto_initializer(after["activation"])
    init = str(after["init"])
    if "model.init" not in given and init != "auto" and init.split("_")[0] != own.split("_")[0]:
        implied.append(f"model.init={own}")
    if after["activation"] != "selu" and after["dropout_kind"] == "alpha" and "model.dropout_kind" not in given:
        implied.append("model.dropout_kind=standard")
    return implied
