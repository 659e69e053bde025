"""`deepfit compare RUN RUN ...`: one HTML page of the runs side by side and a table of their final metrics."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from deepfit.errors import ConfigError

if TYPE_CHECKING:
    from rich.table import Table

console = Console()
_HEADERS = {"best_epoch": "best", "fit_time_s": "time (s)"}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare runs: configs side by side, overlaid learning curves, final metrics")
    p.add_argument("run_dirs", nargs="+", metavar="RUN", help="two or more run directories")
    p.add_argument("--out", metavar="DIR", help="folder for compare.html and its plots (default runs/compare-<time>)")
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    from deepfit.report.compare import config_rows, labels, metric_rows, read_run, write_comparison
    from deepfit.report.tables import compact, fitting
    from deepfit.run import create_run_dir, existing_run_dir

    if len(args.run_dirs) < 2:
        raise ConfigError(f"compare: expected two or more run directories, got {len(args.run_dirs)}")
    dirs = [existing_run_dir(d) for d in args.run_dirs]
    runs = [read_run(d, label) for d, label in zip(dirs, labels(dirs), strict=True)]
    out = Path(args.out) if args.out else create_run_dir("runs", "compare")
    page = write_comparison(runs, out)
    rows = metric_rows(runs)
    for i, row in enumerate(rows, 1):
        console.print(f"{i}: {row['run']}", highlight=False, soft_wrap=True)
    settings, differ = config_rows(runs)
    if differ:
        changed = [[row["setting"], *(row[run.label] for run in runs)] for row in settings if row["setting"] in differ]
        console.print(fitting((_settings_table(changed), compact(_settings_table(changed))), console.width))
    else:
        console.print("settings: the runs' configs are the same", highlight=False)
    console.print(fitting((_metrics_table(rows), compact(_metrics_table(rows))), console.width))
    console.print(f"comparison: {page}", highlight=False, soft_wrap=True)
    return 0


def _settings_table(changed: list[list[str]]) -> Table:
    """The settings whose values differ between the runs: one row per setting, one column per run, numbered
    as the lines above name them."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title="settings that differ")
    table.add_column("setting", no_wrap=True)
    for i in range(1, len(changed[0])):
        table.add_column(str(i), no_wrap=True)
    for row in changed:
        table.add_row(*(Text(cell) for cell in row))  # Text: a value's brackets are not markup
    return table


def _metrics_table(rows: list[dict]) -> Table:
    """Final metrics, one numbered row per run (the lines above it name them, so the table fits 80 columns); the best
    valid accuracy in bold."""
    from rich.table import Table

    from deepfit.report.tables import format_cell

    columns = [c for c in dict.fromkeys(k for row in rows for k in row) if c != "run"]
    table = Table(title="final metrics")
    table.add_column("#", justify="right", no_wrap=True)
    for c in columns:
        table.add_column(_HEADERS.get(c, c), justify="right", no_wrap=True)
    accs = [row["valid acc"] for row in rows if row.get("valid acc") is not None]
    best = max(accs) if len(accs) > 1 else None
    for i, row in enumerate(rows, 1):
        style = "bold" if best is not None and row.get("valid acc") == best else None
        table.add_row(str(i), *(format_cell(row.get(c)) for c in columns), style=style)
    return table
