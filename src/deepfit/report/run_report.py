"""Render a run directory's plots and `report.html` from the files the run wrote (no training objects).

What it reads: history.csv, metrics.json, model.json and config.toml always; misclassified.safetensors,
diagnosis.json (`--diagnose`) and lr_find.json (`deepfit lr-find --out RUN`) when the run has them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import tomllib

from deepfit.report import lr_finder
from deepfit.report.classes import class_rows, plot_confusion_matrix
from deepfit.report.doctor import doctor_figures, findings_html
from deepfit.report.html import figures_html, paragraph_html, table_html, write_report
from deepfit.report.images import plot_misclassified, read_misclassified
from deepfit.report.plots import best_epoch, plot_learning_curves

MISCLASSIFIED = "misclassified.safetensors"  # written by run/misclassified.py


def read_history(path: Path) -> list[dict[str, float]]:
    with path.open() as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def write_run_report(run_dir: str | Path) -> Path:
    """Write `report.html` into `run_dir`, with its figures under `plots/`: learning curves with the monitored
    metric's best epoch marked, the confusion matrix, per-class precision and recall, misclassified test
    images, the doctor's findings and probe curves, and the LR finder's curve, each when the run has it."""
    run_dir = Path(run_dir)
    plots = run_dir / "plots"
    history = read_history(run_dir / "history.csv")
    metrics: dict[str, Any] = json.loads((run_dir / "metrics.json").read_text())
    names = json.loads((run_dir / "model.json").read_text()).get("class_names")
    monitor = metrics.get("monitor", "val_loss")
    best = metrics.get("best_epoch") or best_epoch(history, monitor)
    caption = "training against validation" + (f"; dotted line: best {monitor}, epoch {best}" if best else "")
    stage = frozen_epochs(tomllib.loads((run_dir / "config.toml").read_text()), len(history))
    if stage is not None:
        caption += f"; dash-dot line: stage 1 (reused layers frozen) ends after epoch {stage}, fine-tuning follows"
    curves = plot_learning_curves(history, plots / "learning_curves.png", monitor=monitor, best=best, stage=stage)
    sections = [("Learning curves", figures_html({caption: curves}))]
    if "confusion_matrix" in metrics:
        sections.append(("Test set by class", _by_class(run_dir, np.asarray(metrics["confusion_matrix"]), names)))
    if (run_dir / "diagnosis.json").is_file():  # trained with the doctor (deepfit train --diagnose)
        diagnosis = json.loads((run_dir / "diagnosis.json").read_text())
        sections.append(("Doctor: findings and per-layer probes",
                         findings_html(diagnosis) + figures_html(doctor_figures(diagnosis, plots))))
    if (run_dir / lr_finder.FILE).is_file():
        curve = lr_finder.read_lr_finder(run_dir / lr_finder.FILE)
        figure = lr_finder.plot_lr_finder(curve, plots / "lr_find.png")
        sections.append(("Learning-rate finder", paragraph_html(curve.get("message", "")) + figures_html(
            {"training loss against learning rate, on a fresh copy of the model": figure})))
    notes = ["train figures are measured in evaluation mode (no dropout), so they compare with validation."]
    return write_report(
        run_dir / "report.html",
        title=f"deepfit run {run_dir.name}",
        config_text=(run_dir / "config.toml").read_text(),
        metrics=final_figures(metrics),
        history=history,
        images={},
        notes=notes,
        sections=sections,
        header=header_lines(metrics),
    )


def _by_class(run_dir: Path, matrix: np.ndarray, names: list[str] | None) -> str:
    """Per-class precision and recall, the confusion matrix and, for images, the misclassified samples."""
    plots = run_dir / "plots"
    body = paragraph_html("precision: of the samples predicted as the class, the share that are; recall: of the "
                          "samples of the class, the share predicted as it.") + table_html(class_rows(matrix, names))
    images = {"confusion matrix (row-normalised)": plot_confusion_matrix(matrix, names, plots / "confusion_matrix.png")}
    if (run_dir / MISCLASSIFIED).is_file():
        samples = read_misclassified(run_dir / MISCLASSIFIED)
        which = "most confident (highest-loss)" if "loss" in samples else "first"
        images[f"the {which} {len(samples['x'])} misclassified test samples: predicted, true class, test index"] = (
            plot_misclassified(samples, names, plots / "misclassified.png"))
    return body + figures_html(images)


def frozen_epochs(config: Mapping[str, Any], epochs: int) -> int | None:
    """The last epoch of a staged fine-tuning run's first stage (its reused layers frozen), or None when the
    run has no [transfer] section or never reached the second stage."""
    freeze = config.get("transfer", {}).get("freeze_epochs", 0)
    return freeze if 0 < freeze < epochs else None


def final_figures(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The final metrics table: loss and accuracy (as a percentage) of each split, and the generalisation gap."""
    flat: dict[str, Any] = {}
    for split in ("train", "valid", "test"):
        for k, v in metrics.get(split, {}).items():
            flat[f"{split} {_SPELLED.get(k, k)}"] = percent(v) if k == "acc" and v is not None else v
    train, valid = metrics.get("train", {}).get("acc"), metrics.get("valid", {}).get("acc")
    if train is not None and valid is not None:
        flat["generalisation gap (train - valid accuracy)"] = f"{100 * (train - valid):.2f} pp"
    return flat


_SPELLED = {"acc": "accuracy"}


def percent(share: float) -> str:
    """A share in [0, 1] as a percentage with two decimals: 0.88534 -> "88.53%"."""
    return f"{100 * share:.2f}%"


def header_lines(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What ran, when, on which data and why it stopped, as (label, text) lines; lines the run did not record
    (runs written before these keys existed) are left out."""
    lines = []
    if "command" in metrics:
        lines.append(("command", metrics["command"]))
    if "started" in metrics:
        lines.append(("started", metrics["started"]))
    lines += [("resumed", resume_text(r)) for r in metrics.get("resumes", [])]
    if "seed" in metrics:
        lines.append(("seed", str(metrics["seed"])))
    samples = metrics.get("samples")
    if samples:
        lines.append(("data", ", ".join(f"{n:,} {split}" for split, n in samples.items()) + " samples"))
    if "validation_split" in metrics:
        lines.append(("split", split_text(metrics["validation_split"])))
    stopped = stop_text(metrics)
    if stopped:
        lines.append(("stopped", stopped))
    lines.append(("ran on", _where(metrics)))
    v = metrics.get("versions", {})
    if v:
        lines.append(("versions", ", ".join(f"{k} {value}" for k, value in v.items())))
    return lines


def resume_text(resume: Mapping[str, Any]) -> str:
    """`2026-12-08 01:50:02 UTC after epoch 3 (the previous process was interrupted): deepfit train --resume DIR`."""
    previous = resume.get("previous")
    why = f" (the previous process {'was interrupted' if previous == 'interrupted' else 'had finished'})" \
        if previous else ""
    return f"{resume.get('time', '')} after epoch {resume.get('from_epoch')}{why}: {resume.get('command', '')}"


def split_text(split: Mapping[str, Any]) -> str:
    """How validation and test were drawn: `stratified by class, seed 42: 180 validation (chosen automatically:
    10% of the 1797 samples), 180 test (chosen automatically: ...)`."""
    how = {"stratified": "stratified by class", "random": "at random", "first": "the first rows of the file"}
    method = split.get("method", "first")
    text = how.get(method, method) + (f", seed {split['seed']}" if split.get("seed") is not None else "")
    parts = [f"{split.get('samples', 0):,} validation ({_chosen(split)})"]
    if "test" in split:
        parts.append(f"{split['test'].get('samples', 0):,} test ({_chosen(split['test'])})")
    return f"{text}: {', '.join(parts)}"


def _chosen(part: Mapping[str, Any]) -> str:
    chosen = part.get("chosen", "by the user")
    return "set by the user" if chosen == "by the user" else f"chosen automatically: {chosen}"


def stop_text(metrics: Mapping[str, Any]) -> str:
    """Why training ended, in words: every epoch ran, early stopping (with the epoch restored), divergence."""
    stop = metrics.get("stop")
    es = metrics.get("early_stopping")
    if stop is None:  # a run written before `stop` was recorded
        if metrics.get("diverged"):
            return f"diverged: {metrics.get('note', '')}"
        return _early_text(es, metrics.get("epochs")) if es else ""
    reason, epoch = stop["reason"], stop["epoch"]
    if reason == "early_stopping" and es:
        return _early_text(es, metrics.get("epochs"))
    if reason == "diverged":
        return f"diverged in epoch {epoch}: {stop.get('note', '')}"
    text = f"all {epoch} epochs done" if reason == "completed" else f"stopped after epoch {epoch}" + (
        f": {stop['note']}" if stop.get("note") else "")
    restored = stop.get("restored_epoch")
    if restored is not None and restored != epoch:
        text += f"; the weights of epoch {restored} restored (best {metrics.get('monitor', 'val_loss')})"
    return text


def _early_text(es: Mapping[str, Any], epochs: int | None) -> str:
    waited = es["stopped_epoch"] - es["best_epoch"]
    line = (f"early stopping at epoch {es['stopped_epoch']} ({es['monitor']} did not improve for {waited} "
            f"epoch{'s' if waited != 1 else ''}); ")
    if es.get("restored_epoch") is None:
        return line + f"the weights of the last epoch ({epochs}) kept (restore_best is off)"
    best = f", {es['monitor']} {_short(es['best'])}" if es.get("best") is not None else ""
    return line + f"the weights of epoch {es['restored_epoch']} restored{best}"


def _where(metrics: Mapping[str, Any]) -> str:
    parts = [str(metrics.get("device", "?"))]
    if "threads" in metrics:
        parts.append(f"{metrics['threads']} thread{'s' if metrics['threads'] != 1 else ''}")
    if "engine" in metrics:
        parts.append(f"engine {metrics['engine']}")
    text = ", ".join(parts)
    if metrics.get("fit_time_s") is not None:
        text += f"; {_short(metrics['fit_time_s'])} s training"
        if metrics.get("seconds_per_epoch") is not None:
            text += f" ({_short(metrics['seconds_per_epoch'])} s per epoch)"
    return text


def _short(value: float) -> str:
    return f"{value:.4g}"
