"""Rows of metrics as GitHub markdown and as CSV; a row is a `dict` from column name to value.

Formatting only: statistics over seeds live in studies/stats.py.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from deepfit.atomic import atomic_path

MISSING = "–"
"""Shown for a NaN, a None or a column the row lacks, so an empty cell is never mistaken for zero."""
_UNBOUNDED = 10_000  # columns of the console a natural width is measured on: wider than any table
# rich's SIMPLE_HEAD (a space between columns, a rule under the header) with a rule between sections and
# rows too, where SIMPLE_HEAD leaves a line of spaces that reads as a blank line
_RULES = box.Box("    \n    \n ── \n    \n ── \n    \n    \n    \n")


def columns_of(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Return every key of `rows` once, in the order first seen.

    History rows can gain keys during a run (a probe that starts at epoch 5), so the first row alone
    is not enough.
    """
    return list(dict.fromkeys(key for row in rows for key in row))


def format_cell(value: Any, floatfmt: str = ".4f") -> str:
    """Format one value for a table: integers as integers, reals with `floatfmt`, NaN and None as "–"."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        return MISSING if math.isnan(number) else format(number, floatfmt)
    return str(value)


def _is_numeric(values: Iterable[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in present)


def _markdown_cell(text: str) -> str:
    # A pipe would end the cell and a newline the row.
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    floatfmt: str = ".4f",
) -> str:
    """Return `rows` as a GitHub markdown table: a header, a separator and one line per row.

    Numeric columns are right-aligned. A NaN, a None or a key missing from a row shows as "–".

    Args:
        columns: the columns and their order; defaults to every key of `rows` in the order first seen.
        floatfmt: format spec for non-integer numbers (`format(value, floatfmt)`).

    Returns:
        The table without a trailing newline; "" when there are no columns.
    """
    cols = list(columns) if columns is not None else columns_of(rows)
    if not cols:
        return ""
    header = "| " + " | ".join(_markdown_cell(str(c)) for c in cols) + " |"
    aligns = ["---:" if _is_numeric(row.get(c) for row in rows) else "---" for c in cols]
    separator = "| " + " | ".join(aligns) + " |"
    body = ["| " + " | ".join(_markdown_cell(format_cell(row.get(c), floatfmt)) for c in cols) + " |" for row in rows]
    return "\n".join([header, separator, *body])


def write_csv(
    rows: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    columns: Sequence[str] | None = None,
) -> Path:
    """Write `rows` to a CSV file atomically and return its path.

    Values are written with `str`, so floats keep full precision and NaN is written as "nan",
    which `float()` reads back. A key missing from a row gives an empty field; keys outside
    `columns` are left out.

    Args:
        columns: the columns and their order; defaults to every key of `rows` in the order first seen.

    Raises:
        OutputError: the file cannot be written.
    """
    cols = list(columns) if columns is not None else columns_of(rows)
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=cols, restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def rich_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    title: str | None = None,
    caption: str | None = None,
    whole: Sequence[str] = (),
    lines: bool = False,
    styles: Mapping[str, str] | None = None,
    floatfmt: str = ".4g",
) -> Table:
    """`rows` as a rich table for the terminal: numeric columns right-aligned, "–" for a missing value.

    Args:
        whole: columns that never wrap (names such as `lr=0.01,activation=elu`), so narrow terminals
            wrap the figures instead.
        caption: a line under the table, e.g. what the brackets in its cells mean.
        lines: rule between rows, for cells of more than one line.
        styles: a rich style for the cells whose text is a key (a verdict in green or red).
    """
    cols = list(columns) if columns is not None else columns_of(rows)
    table = Table(title=title, caption=caption, caption_justify="left", show_lines=lines)
    for c in cols:
        values = [row.get(c) for row in rows]
        numeric = _is_numeric(values) or all(isinstance(v, str) and v[:1].isdigit() for v in values
                                             if v and v != MISSING)
        width = max((len(format_cell(v, floatfmt)) for v in values), default=0) if c in whole else None
        table.add_column(str(c), justify="right" if numeric else "left", min_width=width, no_wrap=c in whole,
                         overflow="fold")
    for row in rows:
        cells = [format_cell(row.get(c), floatfmt) for c in cols]
        table.add_row(*(Text(t, style=(styles or {}).get(t, "")) for t in cells))  # Text: brackets are not markup
    return table


def natural_width(renderable: Any) -> int:
    """The columns `renderable` takes when nothing has to wrap: a table's widest cells, padding and box."""
    console = Console(file=io.StringIO(), width=_UNBOUNDED, color_system=None)
    return Measurement.get(console, console.options, renderable).maximum


def fitting(layouts: Iterable[Any], width: int) -> Any:
    """The first of `layouts` (the fullest first, each showing the same facts more narrowly) that fits `width`
    columns without wrapping a cell; the last when none does."""
    chosen = None
    for chosen in layouts:
        if natural_width(chosen) <= width:
            return chosen
    if chosen is None:
        raise ValueError("fitting() needs at least one layout")
    return chosen


def compact(table: Table) -> Table:
    """`table` without vertical rules and with one space between columns (2 columns fewer per column): the
    narrower layout of the same table."""
    table.box = _RULES
    table.padding = (0, 0, 0, 0)
    table.pad_edge = False
    table.show_edge = False
    return table


def abbreviated(headers: Iterable[str], short: Mapping[str, str]) -> str:
    """The legend of the short headers used (`s/epoch = seconds_per_epoch`), said once under a table."""
    return ", ".join(f"{short[h]} = {h}" for h in dict.fromkeys(headers) if h in short)
