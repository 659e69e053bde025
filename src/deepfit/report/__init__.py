"""Plots, tables and a self-contained HTML report of a run or a study; numpy and matplotlib only, no torch."""

from deepfit.report.html import render_report, write_report
from deepfit.report.plots import (
    plot_bar_with_ci,
    plot_confusion_matrix,
    plot_learning_curves,
    plot_metric_bands,
    plot_series,
)
from deepfit.report.tables import markdown_table, write_csv

__all__ = [
    "markdown_table",
    "plot_bar_with_ci",
    "plot_confusion_matrix",
    "plot_learning_curves",
    "plot_metric_bands",
    "plot_series",
    "render_report",
    "write_csv",
    "write_report",
]
