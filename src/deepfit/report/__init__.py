"""Plots, tables and a self-contained HTML report of a run or a study; numpy and matplotlib only, no torch."""

from deepfit.report.classes import plot_confusion_matrix
from deepfit.report.html import (
    figures_html,
    link_html,
    paragraph_html,
    render_page,
    render_report,
    table_html,
    write_page,
    write_report,
)
from deepfit.report.plots import (
    plot_bar_with_ci,
    plot_learning_curves,
    plot_metric_bands,
    plot_series,
)
from deepfit.report.tables import markdown_table, write_csv

__all__ = [
    "figures_html",
    "link_html",
    "markdown_table",
    "paragraph_html",
    "plot_bar_with_ci",
    "plot_confusion_matrix",
    "plot_learning_curves",
    "plot_metric_bands",
    "plot_series",
    "render_page",
    "render_report",
    "table_html",
    "write_csv",
    "write_page",
    "write_report",
]
