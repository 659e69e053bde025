"""Run a study: every variant x seed, then a results table (mean ± std, 95% CI), plots and the evidence."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from deepfit.atomic import write_text_atomic
from deepfit.config import RunConfig, apply_overrides, config_from_dict, deep_merge, merge_layer, parse_override
from deepfit.data import Splits
from deepfit.report import (
    markdown_table,
    paragraph_html,
    plot_bar_with_ci,
    plot_metric_bands,
    table_html,
    write_csv,
    write_page,
)
from deepfit.run import RunResult, create_run_dir, load_splits, versions
from deepfit.run.rundir import command_line
from deepfit.run.setup import split_seed
from deepfit.run.sweep import train_groups
from deepfit.run.training import save_run
from deepfit.studies.spec import Study
from deepfit.studies.stats import CI_MEANING, summarize
from deepfit.studies.verdicts import (
    HEADER,
    INCONCLUSIVE,
    REFUTED,
    SUPPORTED,
    Verdict,
    judge_all,
    pair_rows,
    verdict_rows,
    verdicts_markdown,
)
from deepfit.train.distributed import refuse_under_torchrun

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
    wall_time_s: float | None = None  # training every run, data loading included
    engine: str = "grouped"
    verdicts: list[Verdict] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)  # where it ran (`machine()`), load at start and end

    def _repr_html_(self) -> str:
        """The study's (or sweep's) page inline in Jupyter: its directory's, or drawn now for one kept in memory."""
        from deepfit.report.notebook import page_html

        page = self.out_dir / f"{self.study.kind}.html" if self.out_dir is not None else None
        if page is not None and page.is_file():
            return page_html(page)
        with tempfile.TemporaryDirectory() as tmp:
            drawn = dataclasses.replace(self, out_dir=Path(tmp))
            _plot_study(drawn)
            return page_html(write_study_page(drawn))


def machine() -> dict[str, Any]:
    """What a study's timings depend on: platform, CPU cores and torch threads, the accelerator, the load."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"platform": platform.platform(terse=True), "python": platform.python_version(),
            "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "cuda": cuda, "load_average": round(load, 2)}


def describe_machine(m: dict[str, Any]) -> str:
    """One line: `2 CPU cores (torch 2 threads), no GPU, load 1.3 -> 1.9`."""
    gpu = m.get("cuda") or "no GPU"
    load = f", load {m.get('load_average')}" + (f" -> {m['load_average_end']}" if "load_average_end" in m else "")
    return f"{m.get('cpus')} CPU cores (torch {m.get('torch_threads')} threads), {gpu}{load}; {m.get('platform')}"


def variant_config(study: Study, variant: str, *, full: bool, user: dict[str, Any], overrides: list[str],
                   seed: int) -> RunConfig:
    """base < reduced|full < variant < the study's per-seed config < the user's options < seed."""
    data = merge_layer(study.base, study.full if full else study.reduced)
    data = merge_layer(data, study.variants[variant])
    if study.seed_config is not None:
        data = merge_layer(data, study.seed_config(seed))
    data = merge_layer(data, user)
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
    engine: str = "grouped",
    save_models: bool = False,
    setup_s: float = 0.0,
) -> StudyResult:
    """Train every variant over `seeds` seeds (in memory), summarise, and write the study directory.

    With `engine="grouped"` (the default), runs that can share a group train at once as its members
    (run/sweep.py); `"sequential"` trains them one at a time. The results are the same either way, up to
    float rounding. With `save_models`, each run's model, history and metrics go to
    `<study dir>/models/<variant>/seed<k>/`, as a run directory holds them. `setup_s`, the seconds spent
    before the runs (e.g. training a source model, studies/sourced.py), counts in the wall time.
    """
    refuse_under_torchrun(f"study {study.name!r}")
    if study.run is not None:  # a study with its own runner (e.g. one that trains a source model first)
        return study.run(study, seeds=seeds, first_seed=first_seed, full=full, user=user, overrides=overrides,
                         out=out, quiet=quiet, console=console, engine=engine)
    seeds = seeds or (study.full_seeds if full else study.seeds)
    console = console or Console(stderr=True)
    configs = {(v, s): variant_config(study, v, full=full, user=user or {}, overrides=overrides or [], seed=s)
               for v in study.variants for s in range(first_seed, first_seed + seeds)}
    keys = list(configs)
    out_dir = create_run_dir(out, study.name) if out is not None else None
    cache: dict[str, Splits] = {}

    def splits_for(cfg: RunConfig) -> Splits:
        key = cfg.data.model_dump_json() + str(split_seed(cfg))  # a split drawn with the seed: one per seed
        if key not in cache:
            cache[key] = load_splits(cfg)
        return cache[key]

    runs: list[dict[str, Any]] = [{}] * len(keys)
    histories: dict[str, list[list[dict[str, float]]]] = {v: [] for v in study.variants}
    records: dict[str, list[Any]] = {}
    results: list[RunResult | None] = [None] * len(keys)
    target = study.target if full or study.reduced_target is None else study.reduced_target
    where = machine()
    start = time.perf_counter()
    drawn = not quiet and (console.is_terminal or console.is_jupyter)  # elsewhere (a log) a line per group
    done = 0
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not drawn) as progress:
        task = progress.add_task(f"study {study.name}", total=len(configs))
        probe = (lambda: [study.probe()]) if study.probe is not None else tuple
        for group, group_results in train_groups([configs[k] for k in keys], splits_for, engine=engine,
                                                 callbacks=probe):
            for i, result in zip(group, group_results, strict=True):
                results[i] = result
                if save_models and out_dir is not None:
                    variant, seed = keys[i]
                    save_run(result, out_dir / "models" / variant / f"seed{seed}")
            progress.advance(task, len(group))
            names = sorted({keys[i][0] for i in group})
            progress.update(task, description=f"study {study.name}: done {', '.join(names)} ({len(group)} at once)")
            done += len(group)
            if not quiet and not drawn:
                console.print(f"study {study.name}: {done}/{len(configs)} runs done: {', '.join(names)} "
                              f"({len(group)} at once)", highlight=False, markup=False, soft_wrap=True)
    for i, ((variant, seed), result) in enumerate(zip(keys, results, strict=True)):
        row = _run_row(variant, seed, result, target)
        if study.evaluate is not None:
            row.update(study.evaluate(result))  # the study's own per-run metrics
        runs[i] = row
        histories[variant].append(result.history.rows)
        if study.probe is not None:
            records.setdefault(variant, []).append(_probe_record(result, type(study.probe())))
    summary = summarize_runs(runs, list(study.variants))
    wall = time.perf_counter() - start + setup_s
    where["load_average_end"] = machine()["load_average"]
    used = sorted({r.metrics["threads"] for r in results if r is not None and "threads" in r.metrics})
    if used:  # what the runs trained with (train.threads applies in each run, after `where` was read)
        where["torch_threads"] = used[0] if len(used) == 1 else "-".join(map(str, (used[0], used[-1])))
    res = StudyResult(study, runs, summary, histories, out_dir, records, target, wall_time_s=wall, engine=engine,
                      verdicts=judge_all(study.claims, runs), machine=where)
    if out_dir is not None:
        write_study(res, configs)
    return res


def _probe_record(result: RunResult, kind: type) -> Any:
    """The record of the probe of `kind` that watched this run (its member's own copy)."""
    member = result.trainer.members[result.member]
    return next(c.record for c in member.callbacks.values() if isinstance(c, kind))


def _run_row(variant: str, seed: int, result: RunResult, target: float | None) -> dict[str, Any]:
    m, h = result.metrics, result.history
    row: dict[str, Any] = {"variant": variant, "seed": seed, "epochs": m["epochs"],
                           "seconds_per_epoch": m["seconds_per_epoch"], "members": m.get("members", 1)}
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
        for metric in [k for k in mine[0] if k not in ("variant", "seed", "members")]:
            s = summarize([r.get(metric, math.nan) for r in mine])
            row[f"{metric}_mean"], row[f"{metric}_std"], row[f"{metric}_ci95"] = s["mean"], s["std"], s["ci95"]
            if metric == "epochs_to_target":
                row["reached_target"] = s["n"]
        rows.append(row)
    return rows


def summary_markdown(res: StudyResult) -> str:
    """The results table: `mean ± std [95% CI]` per metric and variant."""
    return markdown_table(summary_rows(res))


def _shown_metrics(res: StudyResult) -> list[str]:
    return [m for m in ("val_acc", "test_acc", "train_acc", "val_loss", "epochs", "epochs_to_target",
                        "seconds_per_epoch", *res.study.metrics) if f"{m}_mean" in res.summary[0]]


def summary_rows(res: StudyResult) -> list[dict[str, Any]]:
    """The results table's rows, formatted: `mean ± std [95% CI]` per metric and variant."""
    metrics = _shown_metrics(res)
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
    return table


def long_rows(res: StudyResult) -> list[dict[str, Any]]:
    """The results as one row per variant and metric (variant and seeds said on its first row only): mean,
    std and the 95% CI half-width `±h` in columns of their own, the layout that fits a narrow terminal."""
    out = []
    for row in res.summary:
        for i, m in enumerate(_shown_metrics(res)):
            mean, std, ci = row[f"{m}_mean"], row[f"{m}_std"], row[f"{m}_ci95"]
            cells = {"variant": row["variant"] if i == 0 else "", "seeds": row["seeds"] if i == 0 else "",
                     "metric": m, "mean": "–" if math.isnan(mean) else f"{mean:.4g}",
                     "std": "–" if math.isnan(std) else f"{std:.2g}", "±h": "–" if math.isnan(ci) else f"±{ci:.2g}"}
            if m == "epochs_to_target":
                cells["metric"] = f"{m} ({int(row['reached_target'])}/{row['seeds']} reached)"
            out.append(cells)
    return out


def stacked_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`summary_rows` with each `[±h]` on a line of its own, so that a wide table narrows without wrapping
    inside a figure (terminal and study.html)."""
    return [{k: v.replace(" [", "\n[") if isinstance(v, str) else v for k, v in row.items()} for row in rows]


def write_study(res: StudyResult, configs: dict[tuple[str, int], RunConfig]) -> None:
    out = res.out_dir
    assert out is not None
    write_csv(res.runs, out / "runs.csv")
    write_csv(res.summary, out / "summary.csv")
    md = f"# study {res.study.name}\n\n{res.study.claim}\n\nmean ± std [95% CI half-width] over seeds"
    if res.target is not None:
        md += (f"; epochs_to_target: first epoch with val_acc >= {res.target:g}, over the seeds that reach it"
               " (`reached` counts them)")
    grouped = max((r.get("members", 1) for r in res.runs), default=1)
    if grouped > 1:
        md += (f"; runs trained up to {grouped} at once as members of one group, so seconds_per_epoch is the "
               "group's epoch (see runs.csv, `members`)")
    if res.wall_time_s is not None:
        md += f"\n\nwall time {res.wall_time_s:.0f} s ({res.engine})"
        if res.machine:
            md += f" on {describe_machine(res.machine)}"
    md += f"\n\ncommand: `{command_line()}`"
    md += "\n\n"
    verdicts = verdicts_markdown(res.verdicts)
    write_text_atomic(out / "summary.md", md + summary_markdown(res) + "\n" + (f"\n{verdicts}\n" if verdicts else ""))
    evidence = {"study": res.study.name, "claim": res.study.claim, "versions": versions(),
                "time": time.strftime("%Y-%m-%d %H:%M:%S"), "wall_time_s": res.wall_time_s, "engine": res.engine,
                "command": command_line(), "machine": res.machine, "verdicts": [v.as_dict() for v in res.verdicts],
                "configs": {f"{v}/seed{s}": c.model_dump(mode="json") for (v, s), c in configs.items()}}
    write_text_atomic(out / "study.json", json.dumps(evidence, indent=2))
    if res.records:
        write_text_atomic(out / "probes.json", json.dumps(res.records))
    if res.study.report is not None:
        res.study.report(res, out / "plots")
    _plot_study(res)
    write_study_page(res)


def _plot_study(res: StudyResult) -> None:
    out = res.out_dir
    assert out is not None
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


_CAPTIONS = {
    "val_acc": "validation accuracy per epoch, one line per variant: mean over seeds, band from min to max",
    "val_loss": "validation loss per epoch, one line per variant: mean over seeds, band from min to max",
    "loss": "training loss per epoch, one line per variant: mean over seeds, band from min to max",
    "test_acc_bar": "test accuracy per variant: mean and 95% CI over seeds",
    "val_acc_bar": "validation accuracy per variant: mean and 95% CI over seeds",
}


_VERDICT_STYLES = {SUPPORTED: "good", REFUTED: "bad", INCONCLUSIVE: "unclear"}


def write_study_page(res: StudyResult) -> Path:
    """`study.html` (`sweep.html` for a sweep): the claim, where and how it ran, the results table with what
    its brackets mean, the verdicts, and every plot. A sweep's rows are ranked by validation accuracy, the best
    shaded."""
    out = res.out_dir
    assert out is not None
    kind = res.study.kind
    notes = [f"command: {command_line()}"]
    if res.wall_time_s is not None:
        notes.append(f"wall time {res.wall_time_s:.0f} s ({res.engine})"
                     + (f" on {describe_machine(res.machine)}" if res.machine else ""))
    rows, best = summary_rows(res), []
    if kind == "sweep" and "val_acc_mean" in res.summary[0]:
        order = sorted(range(len(rows)), key=lambda i: -_or_low(res.summary[i]["val_acc_mean"]))
        rows, best = [rows[i] for i in order], [True]
    sections = [("Claim" if kind == "study" else "Grid", paragraph_html(res.study.claim)),
                ("Results (mean ± std [95% CI half-width] over seeds)",
                 f'<div class="wide">{table_html(stacked_rows(rows), highlight=best)}</div>'
                 + paragraph_html(CI_MEANING))]
    if res.verdicts:
        sections.append(("Verdicts", paragraph_html(HEADER) + table_html(verdict_rows(res.verdicts),
                                                                          styles=_VERDICT_STYLES)))
        for v in res.verdicts:
            if v.claim.kind == "ordering":
                sections.append((f"Pairs of the ordering: {v.claim.text}", table_html(pair_rows(v))))
    pngs = sorted((out / "plots").glob("*.png"), key=lambda p: (list(_CAPTIONS).index(p.stem)
                                                               if p.stem in _CAPTIONS else len(_CAPTIONS), p.name))
    images = {_CAPTIONS.get(p.stem, p.stem.replace("_", " ")): p for p in pngs}  # the learning curves first
    title = f"{kind} {res.study.name}" if res.study.name != kind else kind
    return write_page(out / f"{kind}.html", title=title, sections=sections, images=images, notes=notes)


def _or_low(value: float) -> float:
    return -math.inf if math.isnan(value) else value
