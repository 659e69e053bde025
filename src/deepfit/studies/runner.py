"""Run a study: every variant x seed, then a results table (mean ± std, 95% CI), plots and the evidence."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from deepfit.atomic import write_text_atomic
from deepfit.config import RunConfig, apply_overrides, config_from_dict, deep_merge, parse_override
from deepfit.data import Splits
from deepfit.report import markdown_table, plot_bar_with_ci, plot_metric_bands, write_csv
from deepfit.run import RunResult, create_run_dir, load_splits, run_training, versions
from deepfit.studies.spec import Study
from deepfit.studies.stats import summarize

METRICS = ("val_acc", "test_acc", "train_acc", "epochs", "epochs_to_target", "seconds_per_epoch")


@dataclass
class StudyResult:
    study: Study
    runs: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    histories: dict[str, list[list[dict[str, float]]]] = field(repr=False)
    out_dir: Path | None = None
    records: dict[str, list[Any]] = field(default_factory=dict, repr=False)  # per variant, one probe record per seed
    target: float | None = None  # the val_acc behind epochs_to_target


def variant_config(study: Study, variant: str, *, full: bool, user: dict[str, Any], overrides: list[str],
                   seed: int) -> RunConfig:
    """base < reduced|full < variant < the study's per-seed config < the user's options < seed."""
    data = deep_merge(study.base, study.full if full else study.reduced)
    data = deep_merge(data, study.variants[variant])
    if study.seed_config is not None:
        data = deep_merge(data, study.seed_config(seed))
    data = deep_merge(data, user)
    data = apply_overrides(data, [parse_override(o) for o in overrides])
    data = deep_merge(data, {"train": {"seed": seed}})
    return config_from_dict(data, source=f"study {study.name!r}, variant {variant!r}")


def run_study(
    study: Study,
    *,
    seeds: int | None = None,
    first_seed: int = 0,
    full: bool = False,
    user: dict[str, Any] | None = None,
    overrides: list[str] | None = None,
    out: str | Path | None = "studies",
    quiet: bool = False,
    console: Console | None = None,
) -> StudyResult:
    """Train every variant over `seeds` seeds (in memory), summarise, and write the study directory."""
    if study.run is not None:  # a study with its own runner (e.g. one that trains a source model first)
        return study.run(study, seeds=seeds, first_seed=first_seed, full=full, user=user, overrides=overrides,
                         out=out, quiet=quiet, console=console)
    seeds = seeds or study.seeds
    console = console or Console(stderr=True)
    configs = {(v, s): variant_config(study, v, full=full, user=user or {}, overrides=overrides or [], seed=s)
               for v in study.variants for s in range(first_seed, first_seed + seeds)}
    out_dir = create_run_dir(out, study.name) if out is not None else None
    cache: dict[str, Splits] = {}
    runs: list[dict[str, Any]] = []
    histories: dict[str, list[list[dict[str, float]]]] = {v: [] for v in study.variants}
    records: dict[str, list[Any]] = {}
    target = study.target if full or study.reduced_target is None else study.reduced_target
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=quiet) as progress:
        task = progress.add_task(f"study {study.name}", total=len(configs))
        for (variant, seed), cfg in configs.items():
            progress.update(task, description=f"study {study.name}: {variant} (seed {seed})")
            key = cfg.data.model_dump_json() + (str(seed) if cfg.data.valid < 1 else "")
            if key not in cache:
                cache[key] = load_splits(cfg)
            probes = [study.probe()] if study.probe is not None else []
            result = run_training(cfg, save=False, splits=cache[key], extra_callbacks=probes)
            if probes:
                records.setdefault(variant, []).append(probes[0].record)
            row = _run_row(variant, seed, result, target)
            if study.evaluate is not None:
                row.update(study.evaluate(result))  # the study's own per-run metrics
            runs.append(row)
            histories[variant].append(result.history.rows)
            progress.advance(task)
    summary = summarize_runs(runs, list(study.variants))
    res = StudyResult(study, runs, summary, histories, out_dir, records, target)
    if out_dir is not None:
        write_study(res, configs)
    return res


def _run_row(variant: str, seed: int, result: RunResult, target: float | None) -> dict[str, Any]:
    m, h = result.metrics, result.history
    row: dict[str, Any] = {"variant": variant, "seed": seed, "epochs": m["epochs"],
                           "seconds_per_epoch": m["seconds_per_epoch"]}
    for split in ("train", "valid", "test"):
        for k, v in m.get(split, {}).items():
            row[f"{'val' if split == 'valid' else split}_{k}"] = v
    if target is not None:
        reached = [r["epoch"] for r in h.rows if r.get("val_acc", -1) >= target]
        row["epochs_to_target"] = reached[0] if reached else math.nan
    return row


def summarize_runs(runs: list[dict[str, Any]], variants: list[str]) -> list[dict[str, Any]]:
    """One row per variant: mean, std and 95% CI half-width of each metric over seeds."""
    rows = []
    for v in variants:
        mine = [r for r in runs if r["variant"] == v]
        row: dict[str, Any] = {"variant": v, "seeds": len(mine)}
        for metric in [k for k in mine[0] if k not in ("variant", "seed")]:
            s = summarize([r.get(metric, math.nan) for r in mine])
            row[f"{metric}_mean"], row[f"{metric}_std"], row[f"{metric}_ci95"] = s["mean"], s["std"], s["ci95"]
            if metric == "epochs_to_target":
                row["reached_target"] = s["n"]
        rows.append(row)
    return rows


def summary_markdown(res: StudyResult) -> str:
    """The results table: `mean ± std [95% CI]` per metric and variant."""
    metrics = [m for m in ("val_acc", "test_acc", "train_acc", "val_loss", "epochs", "epochs_to_target",
                           "seconds_per_epoch", *res.study.metrics) if f"{m}_mean" in res.summary[0]]
    table = []
    for row in res.summary:
        out = {"variant": row["variant"], "seeds": row["seeds"]}
        for m in metrics:
            mean, std, ci = row[f"{m}_mean"], row[f"{m}_std"], row[f"{m}_ci95"]
            out[m] = "–" if math.isnan(mean) else f"{mean:.4g} ± {std:.2g} [±{ci:.2g}]" if not math.isnan(std) \
                else f"{mean:.4g}"
            if m == "epochs_to_target":
                out["reached"] = f"{int(row['reached_target'])}/{row['seeds']}"
        table.append(out)
    return markdown_table(table)


def write_study(res: StudyResult, configs: dict[tuple[str, int], RunConfig]) -> None:
    out = res.out_dir
    assert out is not None
    write_csv(res.runs, out / "runs.csv")
    write_csv(res.summary, out / "summary.csv")
    md = f"# study {res.study.name}\n\n{res.study.claim}\n\nmean ± std [95% CI half-width] over seeds"
    if res.target is not None:
        md += (f"; epochs_to_target: first epoch with val_acc >= {res.target:g}, over the seeds that reach it"
               " (`reached` counts them)")
    md += "\n\n"
    write_text_atomic(out / "summary.md", md + summary_markdown(res) + "\n")
    evidence = {"study": res.study.name, "claim": res.study.claim, "versions": versions(),
                "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                "configs": {f"{v}/seed{s}": c.model_dump(mode="json") for (v, s), c in configs.items()}}
    write_text_atomic(out / "study.json", json.dumps(evidence, indent=2))
    if res.records:
        write_text_atomic(out / "probes.json", json.dumps(res.records))
    if res.study.report is not None:
        res.study.report(res, out / "plots")
    for metric in ("val_acc", "val_loss", "loss"):
        if any(metric in r for h in res.histories.values() for run in h for r in run):
            plot_metric_bands(res.histories, metric, out / "plots" / f"{metric}.png",
                              title=f"{res.study.name}: {metric} (mean, band over seeds)")
    for metric in ("test_acc", "val_acc"):
        if f"{metric}_mean" in res.summary[0]:
            plot_bar_with_ci([r["variant"] for r in res.summary], [r[f"{metric}_mean"] for r in res.summary],
                             [r[f"{metric}_ci95"] for r in res.summary], out / "plots" / f"{metric}_bar.png",
                             ylabel=metric, title=f"{res.study.name}: {metric} (mean, 95% CI)")
            break
