"""`deepfit lr-find`: the LR range test on a fresh model, its plot, its suggestion, and `--apply` to a config."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from rich.console import Console

from deepfit.atomic import write_text_atomic
from deepfit.cli.options import add_figure_out, add_run_options, config_from_args, figure_path
from deepfit.errors import ConfigError

console = Console()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lr-find",
        help="grow the lr exponentially on a fresh model, plot loss against lr, suggest an lr",
        conflict_handler="resolve",
    )
    add_run_options(p)
    p.add_argument("--start-lr", type=float, help="first learning rate (default 1e-6)")
    p.add_argument("--end-lr", type=float, help="last learning rate (default 10)")
    p.add_argument("--steps", type=int, help="number of learning rates tried (default: one epoch of batches)")
    p.add_argument(
        "--apply",
        metavar="FILE.toml",
        help="write the suggested lr into this config file as optimizer.lr, or schedule.max_lr under one_cycle "
        "(created if missing; comments are lost)",
    )
    add_figure_out(p, "lr_find.png and lr_find.json (a run directory: its report shows the curve)")
    p.set_defaults(func=cmd_lr_find)


def cmd_lr_find(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)  # validated before torch is imported

    from deepfit.diagnose import find_lr
    from deepfit.report.lr_finder import FILE as LR_FIND_FILE
    from deepfit.report.lr_finder import plot_lr_finder
    from deepfit.report.run_report import write_run_report
    from deepfit.run import build_member, build_trainer, load_splits, model_spec, resolve_device, write_json
    from deepfit.run.threads import use_threads

    figure = figure_path(args.figure_dir, "lr_find.png")
    use_threads(cfg.train.threads)
    device = resolve_device(cfg.train.device)
    splits = load_splits(cfg)
    trainer = build_trainer(cfg, build_member(cfg, model_spec(cfg, splits)), splits, device)
    given = {"start_lr": args.start_lr, "end_lr": args.end_lr, "steps": args.steps}
    result = find_lr(trainer, splits.train, **{k: v for k, v in given.items() if v is not None})
    run_dir = figure.parent if _is_run_dir(figure.parent) else None
    if run_dir is not None:  # the curve joins that run's report
        figure = run_dir / "plots" / "lr_find.png"
    curve = {**dataclasses.asdict(result), "suggestion": result.suggestion, "optimizer": cfg.optimizer.name}
    plot_lr_finder(curve, figure)
    data = write_json((run_dir or figure.parent) / LR_FIND_FILE, curve)
    console.print(f"{result.message}\nfigure: {figure}\ncurve: {data}", highlight=False, soft_wrap=True)
    if run_dir is not None:
        console.print(f"report: {write_run_report(run_dir)}", highlight=False, soft_wrap=True)
    if args.apply is None:
        return 0
    if result.suggestion is None:
        console.print(f"--apply: nothing written to {args.apply}", highlight=False)
        return 1
    key = apply_lr_to_config(args.apply, result.suggestion)
    console.print(f"wrote {key} = {result.suggestion:.3g} to {args.apply}", highlight=False)
    return 0


def _is_run_dir(directory: Path) -> bool:
    """A finished run's directory (`--out RUN`): its report can show the curve."""
    return all((directory / name).is_file() for name in ("config.toml", "metrics.json", "history.csv", "model.json"))


def apply_lr_to_config(path: str | Path, lr: float) -> str:
    """Write the finder's `lr` into the TOML file at `path` (created if missing); return the key written.

    Usually that is `optimizer.lr`. Under 1cycle the finder picks the peak, so it becomes `schedule.max_lr`
    (and `optimizer.lr`, the start, is lowered to max_lr / 10 if it was above the new peak, as Géron starts).
    """
    import tomli_w

    from deepfit.config import config_from_dict, read_toml
    from deepfit.optim import SCHEDULES

    path = Path(path)
    data: dict[str, Any] = read_toml(path) if path.exists() else {}
    optimizer, schedule = data.setdefault("optimizer", {}), data.get("schedule", {})
    if not isinstance(optimizer, dict) or not isinstance(schedule, dict):
        raise ConfigError(f"{path}: 'optimizer' and 'schedule' must be sections")
    value = float(f"{lr:.3g}")
    start = optimizer.pop("learning_rate", optimizer.get("lr"))  # the Keras spelling of the same key
    if "name" in schedule and SCHEDULES.canonical(schedule["name"]) == "one_cycle":
        schedule["max_lr"], key = value, "schedule.max_lr"
        if start is None or start > value:
            start = float(f"{value / 10:.3g}")
    else:
        start, key = value, "optimizer.lr"
    if start is not None:
        optimizer["lr"] = start
    config_from_dict(data, source=str(path))
    write_text_atomic(path, tomli_w.dumps(data))
    return key
