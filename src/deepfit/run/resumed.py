"""Resuming a run written before `data.split` existed: its split was the first rows as validation and no test
split was drawn, so its config (which records neither) is read that way, and the resumed run trains on the
same rows."""

from __future__ import annotations

from typing import Any

import tomllib

from deepfit.config import RunConfig


def as_written(cfg: RunConfig, state: dict[str, Any] | None) -> RunConfig:
    """`cfg` with `data.split = "first"` and no drawn test split when `state` (a checkpoint) was written with a
    config that has no `data.split` and `cfg` sets none; else `cfg` as it is."""
    if state is None or cfg.data.split is not None:
        return cfg
    saved = state.get("callbacks", {}).get("Checkpoint", {}).get("meta", {}).get("config")
    if not isinstance(saved, str) or "split" in tomllib.loads(saved).get("data", {}):
        return cfg
    old = {"split": "first", "test": cfg.data.test or 0}
    return cfg.model_copy(update={"data": cfg.data.model_copy(update=old)})
