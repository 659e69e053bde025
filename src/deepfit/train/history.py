"""Per-epoch history: rows of named figures, in memory and as `history.csv`."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from deepfit.atomic import write_text_atomic

FIRST_COLUMNS = ["epoch", "loss", "acc", "val_loss", "val_acc", "lr", "epoch_time_s"]


class History:
    """A list of per-epoch rows (`{"epoch": 1, "loss": ..., "val_acc": ...}`), like Keras's `History`."""

    def __init__(self, rows: list[dict[str, float]] | None = None) -> None:
        self.rows: list[dict[str, float]] = list(rows or [])

    def append(self, row: dict[str, float]) -> None:
        self.rows.append(dict(row))

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        """`History(5 epochs; last: loss 0.3123  acc 0.8871  val_loss 0.3502  ...)`: the length and the last row."""
        if not self.rows:
            return "History(0 epochs)"
        last = self.rows[-1]
        figures = "  ".join(f"{k} {v:.4g}" for k in self.columns
                            if k != "epoch" and isinstance(v := last.get(k), int | float))
        return f"History({len(self.rows)} epoch{'s' * (len(self.rows) != 1)}; last: epoch {last['epoch']}  {figures})"

    def __getitem__(self, key: str) -> list[float]:
        """The column `key` over epochs (NaN where an epoch lacks it)."""
        return [r.get(key, math.nan) for r in self.rows]

    @property
    def columns(self) -> list[str]:
        seen = [c for c in FIRST_COLUMNS if any(c in r for r in self.rows)]
        for r in self.rows:
            seen += [k for k in r if k not in seen]
        return seen

    def to_csv(self, path: str | Path) -> Path:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return write_text_atomic(path, buf.getvalue())

    @classmethod
    def from_csv(cls, path: str | Path) -> History:
        with Path(path).open() as f:
            rows = [{k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(f)]
        for r in rows:
            r["epoch"] = int(r["epoch"])
        return cls(rows)
