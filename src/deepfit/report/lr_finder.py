"""The learning-rate finder's figure, from its curve as plain data (`lr_find.json`, written by `deepfit lr-find`)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deepfit.errors import CheckpointError
from deepfit.report.plots import plot_series

FILE = "lr_find.json"
_KEYS = ("lrs", "losses", "raw_losses")


def read_lr_finder(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The curve of an `lr_find.json`: lrs, losses (smoothed), raw_losses, and the readings when found.

    Raises:
        CheckpointError: the file is not JSON, or it lacks one of the curves.
    """
    try:
        data = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from None
    missing = [k for k in _KEYS if not isinstance(data, dict) or not isinstance(data.get(k), list)]
    if missing:
        raise CheckpointError(f"{path}: expected the lists {', '.join(_KEYS)}, missing {', '.join(missing)}")
    return data


def plot_lr_finder(curve: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Loss against learning rate on a log axis, smoothed and raw, with the suggestion and the steepest
    descent marked when the finder found them."""
    marks = {}
    if curve.get("suggestion") is not None:
        marks = {"suggested (min-loss lr / 10)": curve["suggestion"]}
        if curve.get("steepest_lr") is not None:
            marks["steepest descent"] = curve["steepest_lr"]
    optimizer = curve.get("optimizer")
    return plot_series(curve["lrs"], {"smoothed loss": curve["losses"], "loss": curve["raw_losses"]}, path,
                       xlabel="learning rate", ylabel="training loss", logx=True,
                       title=f"LR finder: {optimizer}" if optimizer else "LR finder", marks=marks,
                       ylim=_loss_range(curve["losses"], curve["raw_losses"]))


def _loss_range(smoothed: list[float | None], raw: list[float | None]) -> tuple[float, float] | None:
    """From just under the lowest loss, smoothed or raw, to twice the smoothed start: the last steps of a
    diverging sweep reach 100 times the start and would flatten the part of the curve that is read."""
    finite = [v for v in smoothed if v is not None and math.isfinite(v)]
    if not finite:
        return None
    low = min(finite + [v for v in raw if v is not None and math.isfinite(v)])
    high = max(2.0 * finite[0], low + 1e-12)
    return (low - 0.05 * (high - low), high)
