"""`deepfit lr-find`: the LR range test on a fresh model, its plot, its suggestion, and `--apply` to a config."""

from __future__ import annotations

import argparse
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
    add_figure_out(p, "lr_find.png")
    p.set_defaults(func=cmd_lr_find)


def cmd_lr_find(args: argparse.Namespace) -> int:
    from deepfit.diagnose import find_lr
    from deepfit.report import plot_series
    from deepfit.run import build_member, build_trainer, load_splits, model_spec, resolve_device
    from deepfit.run.threads import use_threads

    cfg = config_from_args(args)
    figure = figure_path(args.figure_dir, "lr_find.png")
    use_threads(cfg.train.threads)
    device = resolve_device(cfg.train.device)
    splits = load_splits(cfg)
    trainer = build_trainer(cfg, build_member(cfg, model_spec(cfg, splits)), splits, device)
    given = {"start_lr": args.start_lr, "end_lr": args.end_lr, "steps": args.steps}
    result = find_lr(trainer, splits.train, **{k: v for k, v in given.items() if v is not None})
    marks = {}
    if result.suggestion is not None:
        marks = {"suggested (min-loss lr / 10)": result.suggestion, "steepest descent": result.steepest_lr}
    plot_series(
        result.lrs,
        {"smoothed loss": result.losses, "loss": result.raw_losses},
        figure,
        xlabel="learning rate",
        ylabel="training loss",
        logx=True,
        title=f"LR finder: {cfg.optimizer.name}",
        marks=marks,
    )
    console.print(f"{result.message}\nfigure: {figure}", highlight=False)
    if args.apply is None:
        return 0
    if result.suggestion is None:
        console.print(f"--apply: nothing written to {args.apply}", highlight=False)
        return 1
    key = apply_lr_to_config(args.apply, result.suggestion)
    console.print(f"wrote {key} = {result.suggestion:.3g} to {args.apply}", highlight=False)
    return 0


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
