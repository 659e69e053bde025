"""What a run result, a diagnosis and a study show in Jupyter (`_repr_html_`): the page that deepfit writes
for each, inline. The renderers take plain values (files, dicts, text), as the rest of report/ does."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deepfit.report.doctor import write_doctor_report
from deepfit.report.html import figures_html, inline_html, render_report
from deepfit.report.plots import best_epoch, plot_learning_curves
from deepfit.report.run_report import final_figures, header_lines, write_run_report


def run_html(*, run_dir: Path | None, config_text: str, metrics: Mapping[str, Any],
             history: Sequence[Mapping[str, Any]]) -> str:
    """A run's `report.html` inline: the run directory's (written now if the run has none yet), or for a run
    kept in memory (a study's, a sweep's) the same page of its metrics, learning curves, history and config."""
    if run_dir is not None and (run_dir / "metrics.json").is_file():
        page = run_dir / "report.html"
        return inline_html((page if page.is_file() else write_run_report(run_dir)).read_text())
    monitor = metrics.get("monitor", "val_loss")
    best = metrics.get("best_epoch") or best_epoch(history, monitor)
    with tempfile.TemporaryDirectory() as tmp:
        curves = plot_learning_curves(history, Path(tmp) / "learning_curves.png", monitor=monitor, best=best)
        page = render_report(
            title="deepfit run (in memory)", config_text=config_text, metrics=final_figures(metrics),
            history=history, images={}, header=header_lines(metrics),
            sections=[("Learning curves", figures_html({"training against validation": curves}))],
        )
    return inline_html(page)


def diagnosis_html(diagnosis: Mapping[str, Any], *, config_text: str) -> str:
    """The doctor's `doctor.html` inline: findings, per-layer probe curves, learning curves and config."""
    with tempfile.TemporaryDirectory() as tmp:
        return inline_html(write_doctor_report(Path(tmp), diagnosis, config_text=config_text).read_text())


def page_html(page: Path) -> str:
    """A page deepfit wrote (`study.html`, `sweep.html`) inline."""
    return inline_html(page.read_text())
