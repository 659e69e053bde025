"""The doctor's figures and pages, from a diagnosis as plain data (`Diagnosis.to_dict()`, diagnosis.json).

Per-layer curves over the probe steps (gradient norm, activation std, dead or saturated fraction, update
ratio), the gradient norm by depth at the first and last probe, the findings as a table, and a page that
sets a run before and after the doctor's fix side by side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deepfit.report.html import table_html, write_report
from deepfit.report.plots import plot_learning_curves, plot_series

_CURVES = {
    "grad_norm": ("gradient norm ||dL/dW||", True),
    "act_std": ("activation std", False),
    "dead": ("dead fraction (ReLU family)", False),
    "saturated": ("saturated fraction (sigmoid/tanh)", False),
    "update_ratio": ("update ratio per step ||dw|| / ||w||", True),
}


def doctor_figures(diagnosis: Mapping[str, Any], plots: Path, prefix: str = "") -> dict[str, Path]:
    """Draw the probe record's curves into `plots`; caption -> image file. `prefix` starts the captions
    and the file names (e.g. "fixed")."""
    stem = f"{prefix}_" if prefix else ""
    prefix = f"{prefix}: " if prefix else ""
    record = diagnosis["record"]
    probes, layers = record["probes"], record["layers"]
    if not probes:
        return {}
    steps = [p["step"] for p in probes]
    images: dict[str, Path] = {}
    for key, (label, logy) in _CURVES.items():
        series = {name: [_number(p["layers"][i].get(key)) for p in probes] for i, name in enumerate(layers)}
        series = {n: v for n, v in series.items() if any(math.isfinite(x) for x in v)}
        if key == "update_ratio":
            series = {n: [x if x > 0 else math.nan for x in v] for n, v in series.items()}
        if not series:
            continue
        path = plots / f"{stem}doctor_{key}.png"
        images[f"{prefix}{label} per layer over the probes"] = plot_series(
            steps, series, path, xlabel="step", ylabel=label, logy=logy, title=f"{label} per layer")
    depth = list(range(1, len(layers) + 1))
    ends = {f"step {p['step']}": [_number(row.get("grad_norm")) for row in p["layers"]]
            for p in (probes[0], probes[-1])}
    path = plots / f"{stem}doctor_grad_by_depth.png"
    images[f"{prefix}gradient norm by depth (1 = input side), first and last probe"] = plot_series(
        depth, ends, path, xlabel="layer (1 = input side)", ylabel="||dL/dW||", logy=True,
        title="gradient norm by depth")
    return images


def _number(value: Any) -> float:
    """A probe figure as a float; diagnosis.json writes NaN (no figure) as null."""
    return math.nan if value is None else float(value)


def findings_rows(diagnosis: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per finding for a table: rank, name, severity, summary, first remedy, docs."""
    return [{"rank": i, "finding": f["name"], "severity": f["severity"], "what": f["summary"],
             "try": " ".join(f"--set {o}" for o in f["remedies"][0]) if f["remedies"] else "", "read": f["docs"]}
            for i, f in enumerate(diagnosis["findings"], start=1)]


def findings_html(diagnosis: Mapping[str, Any]) -> str:
    """The findings as an HTML table, or a line saying the run is healthy."""
    rows = findings_rows(diagnosis)
    return table_html(rows) if rows else "<p>No finding: the doctor saw nothing wrong.</p>"


def write_doctor_report(out: Path, diagnosis: Mapping[str, Any], *, config_text: str,
                        fixed: Mapping[str, Any] | None = None, remedy: list[str] | None = None) -> Path:
    """Write `out/doctor.html` (and its figures under `out/plots/`): the findings, the per-layer curves,
    and with `fixed` the diagnosis after applying `remedy`, with both runs' learning curves."""
    sections = [("Diagnosis", findings_html(diagnosis))]
    images = doctor_figures(diagnosis, out / "plots")
    history = diagnosis["record"]["epochs"]
    if history:
        images["learning curves"] = plot_learning_curves(history, out / "plots" / "doctor_learning_curves.png")
    if fixed is not None:
        sections.append((f"After the fix: --set {' --set '.join(remedy or [])}", findings_html(fixed)))
        images.update(doctor_figures(fixed, out / "plots", prefix="fixed"))
        if fixed["record"]["epochs"]:
            images["fixed: learning curves"] = plot_learning_curves(
                fixed["record"]["epochs"], out / "plots" / "doctor_fixed_learning_curves.png")
    notes = [f"{len(diagnosis['record']['probes'])} probes on a fixed batch of the training data; each finding's "
             "thresholds and sources are in docs/doctor.md"]
    metrics = {k: v for k, v in diagnosis.get("context", {}).items() if isinstance(v, str | int | float | bool)}
    return write_report(out / "doctor.html", title="deepfit doctor", config_text=config_text, metrics=metrics,
                        history=history, images=images, notes=notes, sections=sections)
