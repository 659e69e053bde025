"""Studies whose runs start from a model trained first (transfer, pretraining): the sources, then the loop.

Each source is trained once (with the first seed) into its own directory; a variant refers to it as
`"@name"` anywhere in its config (e.g. `transfer.source = "@model_a"`). The variants then run over seeds
in the ordinary loop, and each is compared with a baseline variant by a paired difference over seeds.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from deepfit.atomic import write_text_atomic
from deepfit.pretrain import run_pretraining
from deepfit.report import markdown_table, write_csv
from deepfit.run import run_training
from deepfit.studies.runner import StudyResult, run_study, variant_config
from deepfit.studies.spec import Study
from deepfit.studies.stats import paired_difference

# A source: (directory to fill, full?, user options, seed, quiet) -> the directory holding model.json.
SourceFn = Callable[..., Path]


def trained_source(name: str, base: dict[str, Any], reduced: dict[str, Any], full: dict[str, Any]) -> SourceFn:
    """A source trained by `run_training` from `base` < reduced|full < the user's options."""
    spec = Study(name=name, claim="", base=base, variants={name: {}}, reduced=reduced, full=full)

    def train(directory: Path, *, full: bool, user: dict[str, Any], seed: int, quiet: bool) -> Path:
        cfg = variant_config(spec, name, full=full, user=user, overrides=[], seed=seed)
        directory.mkdir(parents=True, exist_ok=True)
        run_training(cfg, quiet=quiet, run_dir=directory)
        return directory

    return train


def pretrained_source(
    name: str, method: str, base: dict[str, Any], reduced: dict[str, Any], options: dict[str, Any] | None = None
) -> SourceFn:
    """A source made by `run_pretraining(method)` from `base` < reduced (or nothing with --full) < user."""
    spec = Study(name=name, claim="", base=base, variants={name: {}}, reduced=reduced)

    def pretrain(directory: Path, *, full: bool, user: dict[str, Any], seed: int, quiet: bool) -> Path:
        cfg = variant_config(spec, name, full=full, user=user, overrides=[], seed=seed)
        directory.mkdir(parents=True, exist_ok=True)
        return run_pretraining(cfg, method, options=options, run_dir=directory)

    return pretrain


def run_with_sources(
    study: Study,
    *,
    sources: dict[str, SourceFn],
    baseline: str,
    baselines: dict[str, str] | None = None,
    metric: str = "test_acc",
    source_only: tuple[str, ...] = (),
    seeds: int | None = None,
    first_seed: int = 0,
    full: bool = False,
    user: dict[str, Any] | None = None,
    overrides: list[str] | None = None,
    out: str | Path | None = "studies",
    quiet: bool = False,
    console: Console | None = None,
    engine: str = "grouped",
) -> StudyResult:
    """Train the `sources`, run the study's variants with `"@name"` replaced by their directories, and
    add each variant's paired difference from its baseline on `metric` (`paired.csv`, `summary.md`):
    `baselines[variant]` where given (e.g. a scratch run with the same learning rate), else `baseline`.

    The user's options reach the sources and the runs alike, except the dotted keys in `source_only`
    (e.g. `"data.subset"`): those go to the sources only, so `--subset` shrinks the plentiful source task
    and never the scarce target task. `--set` overrides reach the runs only.
    """
    user = user or {}
    console = console or Console(stderr=True)
    run_user = _without(user, source_only)
    with tempfile.TemporaryDirectory(prefix=f"deepfit-{study.name}-") as tmp:
        dirs: dict[str, Path] = {}
        start = time.perf_counter()
        for name, source in sources.items():
            if not quiet:
                console.print(f"study {study.name}: training source {name!r}", highlight=False)
            dirs[name] = source(Path(tmp) / name, full=full, user=user, seed=first_seed, quiet=True)
        variants = {v: _substitute(d, dirs) for v, d in study.variants.items()}
        res = run_study(
            dataclasses.replace(study, run=None, variants=variants),
            seeds=seeds,
            first_seed=first_seed,
            full=full,
            user=run_user,
            overrides=overrides,
            out=out,
            quiet=quiet,
            console=console,
            engine=engine,
            setup_s=time.perf_counter() - start,
        )
        if res.out_dir is not None:
            for name, path in dirs.items():
                shutil.copytree(path, res.out_dir / "sources" / name, ignore=shutil.ignore_patterns("checkpoint"))
    rows = paired_rows(res.runs, baseline, metric, baselines)
    if res.out_dir is not None and rows:
        write_csv(rows, res.out_dir / "paired.csv")
        summary = (res.out_dir / "summary.md").read_text()
        write_text_atomic(res.out_dir / "summary.md", summary + "\n" + paired_markdown(rows, metric) + "\n")
    if not quiet and rows:
        console.print(paired_markdown(rows, metric), highlight=False)
    return res


def paired_rows(
    runs: list[dict[str, Any]], baseline: str, metric: str, baselines: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """For each variant that is no baseline: its mean paired difference (variant - its baseline) over the
    seeds both ran, with the 95% CI and significance of `paired_difference`."""
    baselines = baselines or {}
    by = {(r["variant"], r["seed"]): r.get(metric) for r in runs}
    variants = list(dict.fromkeys(r["variant"] for r in runs))
    references = {baseline, *baselines.values()}
    rows = []
    for v in variants:
        base = baselines.get(v, baseline)
        seeds = [s for (w, s) in by if w == v and (base, s) in by]
        if v in references or not seeds:
            continue
        d = paired_difference([by[(base, s)] for s in seeds], [by[(v, s)] for s in seeds])
        rows.append({"variant": v, "baseline": base, "metric": metric, "seeds": len(seeds), **d})
    return rows


def paired_markdown(rows: list[dict[str, Any]], metric: str) -> str:
    """The paired-difference table: mean difference from the baseline, 95% CI, whether it excludes zero."""
    table = [
        {
            "variant": r["variant"],
            "baseline": r["baseline"],
            "seeds": r["seeds"],
            f"{metric} difference": f"{r['mean']:+.4f}",
            "95% CI": f"[{r['low']:+.4f}, {r['high']:+.4f}]",
            "significant": "yes" if r["significant"] else "no",
        }
        for r in rows
    ]
    return f"## paired difference from the baseline ({metric}, same seeds)\n\n" + markdown_table(table)


def _substitute(node: Any, dirs: dict[str, Path]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, dirs) for k, v in node.items()}
    if isinstance(node, str) and node.startswith("@") and node[1:] in dirs:
        return str(dirs[node[1:]])
    return node


def _without(user: dict[str, Any], dotted: tuple[str, ...]) -> dict[str, Any]:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in user.items()}
    for key in dotted:
        section, _, leaf = key.partition(".")
        if leaf and isinstance(out.get(section), dict):
            out[section].pop(leaf, None)
        elif not leaf:
            out.pop(section, None)
    return out
