"""The doctor's figures and pages, from a diagnosis as plain data (`Diagnosis.to_dict()`, diagnosis.json).

Per-layer curves over the probe steps (gradient norm, activation std, dead or saturated fraction, update
ratio), the gradient norm by depth at the first and last probe, the findings as a table with every remedy,
and a page with the repair loop's whole path and the run before and after it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deepfit.config import shell_overrides as shell_text
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
        if key == "update_ratio":  # 0 (no step yet, a frozen layer) has no place on the log axis
            series = {n: [x if x > 0 else math.nan for x in v] for n, v in series.items()}
        series = {n: v for n, v in series.items() if any(math.isfinite(x) for x in v)}
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
    """One row per finding for a table: rank, name, severity, summary, every remedy (as `--set` flags a
    shell takes, alternatives separated by "or"), docs."""
    return [{"rank": i, "finding": f["name"], "severity": f["severity"], "what": f["summary"],
             "remedies": " or ".join(shell_text(r) for r in f["remedies"]), "read": f["docs"]}
            for i, f in enumerate(diagnosis["findings"], start=1)]


def findings_html(diagnosis: Mapping[str, Any]) -> str:
    """The findings as an HTML table, or a line saying the run is healthy."""
    rows = findings_rows(diagnosis)
    return table_html(rows) if rows else "<p>No finding: the network learns and the doctor saw nothing wrong.</p>"


def _figures(values: Any) -> str:
    return ", ".join("n/a" if v is None else f"{v:.3f}" for v in values or [])


def repair_rows(repair: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per remedy the repair loop tried: round, finding, flags (and the implied ones), validation
    accuracy and loss per seed before and after, kept or rejected, and why."""
    return [{"round": a["round"], "finding": a["finding"], "remedy": shell_text(a["remedy"]),
             "implied": shell_text(a["implied"]), "accuracy before": _figures(a["before_accuracy"]),
             "accuracy after": _figures(a["after_accuracy"]) or "not trained",
             "loss before": _figures(a["before_loss"]), "loss after": _figures(a["after_loss"]) or "not trained",
             "verdict": "kept" if a["kept"] else "rejected", "why": a["reason"]} for a in repair["attempts"]]


def repair_html(repair: Mapping[str, Any]) -> str:
    """The repair path: how it ended, accuracy per seed at both ends, every attempt, the remedies kept."""
    seeds = ", ".join(str(s) for s in repair["seeds"])
    head = (f"<p>{html.escape(repair['outcome'].replace('_', ' '))}: {html.escape(repair['reason'])}. Validation "
            f"accuracy per seed ({seeds}): {_figures(repair['initial_accuracy'])} &rarr; "
            f"{_figures(repair['final_accuracy'])}.</p>")
    rows = repair_rows(repair)
    kept = [o for remedy in repair["kept"] for o in remedy]
    tail = f"<p>Kept: <code>{html.escape(shell_text(kept))}</code></p>" if kept else "<p>No remedy kept.</p>"
    return head + (table_html(rows) if rows else "<p>No remedy tried.</p>") + tail


def _metrics(diagnosis: Mapping[str, Any]) -> dict[str, Any]:
    """The figures that end the probe training (validation, else training), and the repair's per seed."""
    metrics = diagnosis.get("metrics", {})
    split = "valid" if isinstance(metrics.get("valid"), dict) else "train"
    out = {f"{split} {k}": v for k, v in (metrics.get(split) or {}).items() if isinstance(v, int | float)}
    repair = diagnosis.get("repair")
    if repair is not None:
        out.update({"validation accuracy per seed, before the repair": _figures(repair["initial_accuracy"]),
                    "validation accuracy per seed, after": _figures(repair["final_accuracy"])})
    return out


def write_doctor_report(out: Path, diagnosis: Mapping[str, Any], *, config_text: str) -> Path:
    """Write `out/doctor.html` (and its figures under `out/plots/`): the findings with all their remedies,
    the run's settings, the per-layer curves, and with a repair (`diagnosis["repair"]`, `Repair.to_dict()`)
    its whole path and the diagnosis and curves after it."""
    settings = [{"setting": k, "value": v} for k, v in diagnosis.get("context", {}).items()
                if isinstance(v, str | int | float | bool)]
    sections = [("Diagnosis", findings_html(diagnosis)), ("Run settings", table_html(settings))]
    images = doctor_figures(diagnosis, out / "plots")
    history = diagnosis["record"]["epochs"]
    if history:
        images["learning curves"] = plot_learning_curves(history, out / "plots" / "doctor_learning_curves.png")
    repair = diagnosis.get("repair")
    if repair is not None:
        final = repair["final"]
        sections += [("Repair path", repair_html(repair)), ("After the repair", findings_html(final))]
        images.update(doctor_figures(final, out / "plots", prefix="repaired"))
        if final["record"]["epochs"]:
            images["repaired: learning curves"] = plot_learning_curves(
                final["record"]["epochs"], out / "plots" / "doctor_repaired_learning_curves.png")
    notes = [f"{len(diagnosis['record']['probes'])} probes on a fixed batch of the training data; each finding's "
             "thresholds and sources are in docs/doctor.md"]
    return write_report(out / "doctor.html", title="deepfit doctor", config_text=config_text,
                        metrics=_metrics(diagnosis), history=history, images=images, notes=notes, sections=sections)
