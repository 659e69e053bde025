"""Render a run directory's plots and `report.html` from the files the run wrote (no training objects)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from deepfit.report.doctor import doctor_figures, findings_html
from deepfit.report.html import write_report
from deepfit.report.plots import plot_confusion_matrix, plot_learning_curves


def read_history(path: Path) -> list[dict[str, float]]:
    with path.open() as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def write_run_report(run_dir: str | Path) -> Path:
    """Write `plots/learning_curves.png`, `plots/confusion_matrix.png` and `report.html` into `run_dir`."""
    run_dir = Path(run_dir)
    history = read_history(run_dir / "history.csv")
    metrics: dict[str, Any] = json.loads((run_dir / "metrics.json").read_text())
    model_meta = json.loads((run_dir / "model.json").read_text())
    images = {"Learning curves": plot_learning_curves(history, run_dir / "plots" / "learning_curves.png")}
    if "confusion_matrix" in metrics:
        images["Confusion matrix (test set, row-normalised)"] = plot_confusion_matrix(
            np.asarray(metrics["confusion_matrix"]),
            model_meta.get("class_names"),
            run_dir / "plots" / "confusion_matrix.png",
        )
    flat: dict[str, Any] = {}
    for split in ("train", "valid", "test"):
        for k, v in metrics.get(split, {}).items():
            flat[f"{split} {k}"] = v
    if "train acc" in flat and "valid acc" in flat:
        flat["generalisation gap (train acc - valid acc)"] = flat["train acc"] - flat["valid acc"]
    for k in ("epochs", "best_epoch", "stopped", "note", "seconds_per_epoch", "fit_time_s", "device", "threads",
              "engine"):
        if k in metrics:
            flat[k] = metrics[k]
    flat.update({f"{k} version": v for k, v in metrics.get("versions", {}).items()})
    notes = ["train figures are measured in evaluation mode (no dropout), so they compare with validation."]
    sections = []
    if (run_dir / "diagnosis.json").is_file():  # trained with the doctor (deepfit train --diagnose)
        diagnosis = json.loads((run_dir / "diagnosis.json").read_text())
        sections.append(("Doctor", findings_html(diagnosis)))
        images.update(doctor_figures(diagnosis, run_dir / "plots"))
    return write_report(
        run_dir / "report.html",
        title=f"deepfit run {run_dir.name}",
        config_text=(run_dir / "config.toml").read_text(),
        metrics=flat,
        history=history,
        images=images,
        notes=notes,
        sections=sections,
    )
