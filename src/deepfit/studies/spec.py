"""A study: a base config, named variants (config overrides) and seeds; its docstring states the claim."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deepfit.registry import Registry


@dataclass(frozen=True)
class Study:
    """A declarative comparison run over `variants` x `seeds`.

    `base` and each variant are nested config dicts (as in a TOML file); `reduced` holds the overrides
    that make the default run fit 2 CPU cores in a few minutes, and `full` those of the GPU-scale version.
    `target` is the validation accuracy whose first epoch is reported as `epochs_to_target`.
    """

    name: str
    claim: str
    base: dict[str, Any]
    variants: dict[str, dict[str, Any]]
    seeds: int = 3
    reduced: dict[str, Any] = field(default_factory=dict)
    full: dict[str, Any] = field(default_factory=dict)
    target: float | None = None


STUDIES: Registry[Study] = Registry("study")
