"""Epoch rows as one aligned line each, laid out once for the width there is: full column names when they
fit, else short names with a legend printed once; a cell is never cut and a line never wraps.

Formatting only: the progress callback (progress.py) decides when and where the lines go.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# column key -> (full header, short header, what the short one stands for); other keys show as themselves
_NAMES = {
    "epoch": ("epoch", "ep", "epoch"),
    "loss": ("loss", "loss", ""),
    "acc": ("acc", "acc", ""),
    "penalty": ("penalty", "pen", "penalty"),
    "grad_norm": ("grad_norm", "gnorm", "grad_norm"),
    "clip_fraction": ("clip_fraction", "clip", "clip_fraction"),
    "val_loss": ("val_loss", "vloss", "val_loss"),
    "val_acc": ("val_acc", "vacc", "val_acc"),
    "lr": ("lr", "lr", ""),
    "momentum": ("momentum", "mom", "momentum"),
    "members": ("members", "k", "members still training"),
    "epoch_time_s": ("time", "s", "seconds"),
}
_HIDDEN = ("nonfinite",)  # counted for divergence, reported by the run's note, not per epoch
_MIN_FIGURE = 6  # "0.8295": most figures are this wide, so a column is at least this wide
_MIN_WIDTHS = {"epoch": 0, "lr": 8, "momentum": 8}  # "0.000891": a decaying rate grows digits


def figure(key: str, value: Any) -> str:
    """One cell: the learning rate with 3 significant digits, seconds with one decimal and an `s`, other
    reals with 4 decimals (scientific outside [1e-3, 1e5)), integers as they are."""
    if isinstance(value, bool) or not isinstance(value, float) or not math.isfinite(value):
        return str(value)
    if key == "epoch_time_s":
        return f"{value:.1f}s"
    if key in ("lr", "momentum"):
        return f"{value:.3g}"
    return f"{value:.4f}" if value == 0 or 1e-3 <= abs(value) < 1e5 else f"{value:.2e}"


@dataclass(frozen=True)
class EpochLayout:
    """The columns of the epoch lines, their headers and widths, and the legend of any short header."""

    keys: tuple[str, ...]
    headers: tuple[str, ...]
    widths: tuple[int, ...]
    gap: str
    legend: str

    @property
    def width(self) -> int:
        """The characters of a line whose cells fit their columns."""
        return sum(self.widths) + len(self.gap) * (len(self.widths) - 1)

    def header(self) -> str:
        return self.gap.join(self._cell(i, h) for i, h in enumerate(self.headers)).rstrip()

    def line(self, cells: Mapping[str, str]) -> str:
        """One epoch's cells (already formatted), each under its header; a cell wider than its column
        pushes the rest right instead of being cut."""
        return self.gap.join(self._cell(i, cells.get(k, "–")) for i, k in enumerate(self.keys)).rstrip()

    def _cell(self, i: int, text: str) -> str:
        return text.ljust(self.widths[i]) if i == 0 else text.rjust(self.widths[i])


def epoch_layout(keys: Sequence[str], first: Mapping[str, str], width: int) -> EpochLayout:
    """Lay out columns `keys` for `width` characters, sized on the first epoch's cells `first`.

    Full names two spaces apart when they fit; otherwise short names one space apart, with a legend
    (`vloss = val_loss, ...`) to print once. Past that the line is longer than `width`, never cut.
    """
    full = _layout(keys, first, short=False)
    return full if full.width <= width else _layout(keys, first, short=True)


def _layout(keys: Sequence[str], first: Mapping[str, str], *, short: bool) -> EpochLayout:
    headers = tuple(_NAMES.get(k, (k, k, ""))[1 if short else 0] for k in keys)
    widths = tuple(max(len(h), len(first.get(k, "")), _MIN_WIDTHS.get(k, _MIN_FIGURE))
                   for k, h in zip(keys, headers, strict=True))
    legend = ", ".join(f"{h} = {_NAMES[k][2]}" for k, h in zip(keys, headers, strict=True)
                       if k in _NAMES and h != _NAMES[k][0])
    return EpochLayout(tuple(keys), headers, widths, " " if short else "  ", legend)


def epoch_keys(logs: Mapping[str, Any]) -> list[str]:
    """The columns of an epoch's logs: the epoch, its figures in the order the history gives them, the time.

    K members trained at once show how many still train and the best member's figure.
    """
    if "members" in logs:
        return ["epoch", "members", _best_key(logs["members"]), "epoch_time_s"]
    shown = [k for k in logs if k not in ("epoch", "epoch_time_s", *_HIDDEN)]
    return ["epoch", *shown, "epoch_time_s"]


def epoch_cells(logs: Mapping[str, Any], epoch: str) -> dict[str, str]:
    """The formatted cells of one epoch's logs; `epoch` is its counter as shown (`3/10`)."""
    if "members" in logs:
        rows = logs["members"]
        key = _best_key(rows)
        best = (max if key.endswith("acc") else min)(rows, key=lambda r: r[key.removeprefix("best ")])
        return {"epoch": epoch, "members": str(len(rows)), key: figure(key, best[key.removeprefix("best ")]),
                "epoch_time_s": figure("epoch_time_s", logs["epoch_time_s"])}
    cells = {k: figure(k, v) for k, v in logs.items() if k not in _HIDDEN}
    cells["epoch"] = epoch
    return cells


def _best_key(rows: Sequence[Mapping[str, Any]]) -> str:
    return "best " + ("val_acc" if all("val_acc" in r for r in rows) else "loss")


def json_line(event: str, **fields: Any) -> str:
    """One JSON object on one line (`{"event": "epoch", ...}`); a non-finite number becomes null, which
    every JSON reader accepts (NaN is not JSON)."""
    return json.dumps({"event": event, **{k: _finite(v) for k, v in fields.items()}}, separators=(", ", ": "))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value
