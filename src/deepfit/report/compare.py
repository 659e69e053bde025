"""Compare finished runs from their files: configs side by side, overlaid learning curves, final metrics.

Reads only what a run directory holds (config.toml, history.csv, metrics.json); no model is loaded.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepfit.config import read_toml
from deepfit.report.html import figures_html, paragraph_html, table_html, write_page
from deepfit.report.plots import plot_metric_bands
from deepfit.report.run_report import read_history
from deepfit.report.tables import format_cell

CURVES = ("val_acc", "val_loss", "loss")  # the learning curves overlaid, one figure each
_FINAL = (("valid", "acc"), ("valid", "loss"), ("test", "acc"), ("test", "loss"))
_SCALARS = ("epochs", "best_epoch", "fit_time_s")
_ABSENT = object()  # a key one run's config lacks


@dataclass(frozen=True)
class RunFiles:
    """What a comparison reads of one run: its label, flattened config, history rows and metrics."""

    label: str
    config: dict[str, Any]
    history: list[dict[str, float]]
    metrics: dict[str, Any]


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables as dotted keys (`optimizer.lr`), the way `--set` names them; lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def read_run(run_dir: str | Path, label: str | None = None) -> RunFiles:
    """The files of one run directory (`history.csv` and `metrics.json` may be missing: a run still going)."""
    run_dir = Path(run_dir)
    history = read_history(run_dir / "history.csv") if (run_dir / "history.csv").is_file() else []
    metrics_path = run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return RunFiles(label or run_dir.name, flatten(read_toml(run_dir / "config.toml")), history, metrics)


def labels(run_dirs: Sequence[Path]) -> list[str]:
    """Each run's directory name, or its whole path where two runs share a name."""
    names = [Path(d).name for d in run_dirs]
    return [name if names.count(name) == 1 else str(d) for name, d in zip(names, run_dirs, strict=True)]


def config_rows(runs: Sequence[RunFiles]) -> tuple[list[dict[str, Any]], list[str]]:
    """(one row per config key with each run's value, the keys whose values differ), keys in file order."""
    keys = list(dict.fromkeys(k for run in runs for k in run.config))
    rows, differ = [], []
    for key in keys:
        values = [run.config.get(key, _ABSENT) for run in runs]
        texts = ["(not set)" if v is _ABSENT else format_cell(v, ".6g") for v in values]  # 1e-05, not 0.0000
        rows.append({"setting": key, **{run.label: t for run, t in zip(runs, texts, strict=True)}})
        if any(v != values[0] for v in values[1:]):
            differ.append(key)
    return rows, differ


def metric_rows(runs: Sequence[RunFiles]) -> list[dict[str, Any]]:
    """One row per run: its final valid/test accuracy and loss, epochs, best epoch and fit time."""
    rows = []
    for run in runs:
        row: dict[str, Any] = {"run": run.label}
        for split, name in _FINAL:
            value = run.metrics.get(split, {}).get(name)
            if value is not None:
                row[f"{split} {name}"] = value
        row.update({k: run.metrics[k] for k in _SCALARS if k in run.metrics})
        rows.append(row)
    return rows


def write_comparison(runs: Sequence[RunFiles], out: str | Path) -> Path:
    """Write `<out>/compare.html` (self-contained) and its figures under `<out>/plots/`; return the page.

    The page holds the final metrics, the learning curves of `CURVES` with one line per run, and the
    configs side by side with the differing settings shaded and named at the top.
    """
    out = Path(out)
    rows, differ = config_rows(runs)
    images = {
        f"{metric} per epoch": plot_metric_bands(
            {run.label: [run.history] for run in runs}, metric, out / "plots" / f"{metric}.png",
            title=f"{metric} per epoch, one line per run",
        )
        for metric in CURVES
    }
    what = f"Settings that differ: {', '.join(differ)}." if differ else "The configs are identical."
    columns = ["setting", *(run.label for run in runs)]
    sections = [
        ("Runs", "<ol>" + "".join(f"<li>{html.escape(run.label)}</li>" for run in runs) + "</ol>"),
        ("Final metrics", table_html(metric_rows(runs))),
        ("Learning curves", figures_html(images)),
        ("Configuration", paragraph_html(what) + table_html(rows, columns, highlight=[r["setting"] in differ
                                                                                      for r in rows])),
    ]
    notes = ["Final figures are measured in evaluation mode (no dropout), as in each run's report."]
    return write_page(out / "compare.html", title=f"deepfit: {len(runs)} runs compared", sections=sections,
                      notes=notes)
