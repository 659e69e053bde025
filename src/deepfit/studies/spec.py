"""A study: a base config, named variants (config overrides) and seeds; its docstring states the claim."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from deepfit.registry import Registry
from deepfit.studies.verdicts import Claim


@dataclass(frozen=True)
class Study:
    """A declarative comparison run over `variants` x `seeds`.

    `base` and each variant are nested config dicts (as in a TOML file); `reduced` holds the overrides
    that make the default run fit 2 CPU cores in a few minutes, and `full` those of the chapter's own setting
    (full data; `full_seeds` seeds, `seeds` for the reduced run).
    `target` is the validation accuracy whose first epoch is reported as `epochs_to_target`; `reduced_target`,
    when given, replaces it in the reduced run (a lower bar that a few epochs on a subset can reach).
    `evaluate`, when given, receives each run's `RunResult` (trainer and splits included) and returns extra
    per-run metrics, summarised over seeds like the rest; `metrics` names those shown in the results table.
    `probe`, when given, makes a fresh callback for each run (e.g. `diagnose.GradientNormProbe`); its JSON-ready
    `record` is kept in `StudyResult.records` and written to `probes.json`. `report`, when given, receives
    the `StudyResult` and the plots directory and draws the study's own figures.
    `seed_config`, when given, maps a seed to config overrides merged into that seed's runs (e.g. a
    different data sample per seed). `run`, when given, replaces the variants x seeds loop: `run_study`
    calls `run(study, **its keyword arguments)` (e.g. to train a source model first, studies/sourced.py).
    `claims` are the claim's testable statements, each given a verdict from the runs (studies/verdicts.py).
    `kind` names the HTML page, `study.html` or `sweep.html` (`deepfit sweep` builds its grid as a study).
    """

    name: str
    claim: str
    base: dict[str, Any]
    variants: dict[str, dict[str, Any]]
    seeds: int = 3
    full_seeds: int = 5
    reduced: dict[str, Any] = field(default_factory=dict)
    full: dict[str, Any] = field(default_factory=dict)
    target: float | None = None
    reduced_target: float | None = None
    evaluate: Callable[[Any], dict[str, float]] | None = None
    metrics: tuple[str, ...] = ()
    probe: Callable[[], Any] | None = None
    report: Callable[[Any, Any], None] | None = None
    seed_config: Callable[[int], dict[str, Any]] | None = None
    run: Callable[..., Any] | None = None
    claims: tuple[Claim, ...] = ()
    kind: Literal["study", "sweep"] = "study"

    def __post_init__(self) -> None:
        # A claim taken from a docstring keeps its indentation; the summary shows it as a paragraph.
        object.__setattr__(self, "claim", inspect.cleandoc(self.claim))


STUDIES: Registry[Study] = Registry("study")
# The Keras convention (docs/keras-convention.md): every study's `--full` setting trains under it, so that a
# row that claims a cell of the chapter's Keras code trains what that cell trains, Keras's defaults included.
KERAS: dict[str, Any] = {"conventions": {"keras": True}}
