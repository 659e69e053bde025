"""`deepfit schedule plot`: draw the learning rate (and momentum) a config will use, without training."""

from __future__ import annotations

import argparse

from rich.console import Console

from deepfit.cli.options import add_figure_out, add_run_options, config_from_args, figure_path
from deepfit.errors import ConfigError

console = Console()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schedule", help="learning-rate schedules: `deepfit schedule plot --config FILE`")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    plot = actions.add_parser(
        "plot", help="draw lr (and momentum) over the run without training", conflict_handler="resolve"
    )
    add_run_options(plot)
    plot.add_argument(
        "--steps-per-epoch",
        type=int,
        metavar="N",
        help="batches per epoch; without it the data is loaded once to count them",
    )
    add_figure_out(plot, "schedule.png (and schedule_momentum.png)")
    plot.set_defaults(func=cmd_schedule_plot)


def cmd_schedule_plot(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)  # validated before torch is imported

    from deepfit.optim import ScheduleWithMomentum
    from deepfit.report import plot_series
    from deepfit.run.setup import load_splits, run_lr, run_schedule, schedule_length

    figure = figure_path(args.figure_dir, "schedule.png")
    if args.steps_per_epoch is not None and args.steps_per_epoch < 1:
        raise ConfigError(f"--steps-per-epoch must be >= 1, got {args.steps_per_epoch}")
    train_size = args.steps_per_epoch * cfg.train.batch_size if args.steps_per_epoch else len(load_splits(cfg).train)
    schedule, callbacks = run_schedule(cfg, train_size)
    name = cfg.schedule.name
    if callbacks:  # performance scheduling: a callback, not a function of the step
        raise ConfigError(
            f"schedule {name!r} reacts to validation metrics while training, so it has no curve to draw beforehand"
        )
    total = schedule_length(cfg.train.epochs, train_size, cfg.train.batch_size, cfg.schedule.interval,
                            drop_last=cfg.train.drop_last)
    lr0 = run_lr(cfg)
    xs = list(range(total))
    lrs = [schedule(t) for t in xs] if schedule is not None else [lr0] * total
    per_step = cfg.schedule.interval == "step"
    unit = "optimizer step" if per_step else "epoch (0-based)"  # the x axis
    counted = f"{total} optimizer step{'s' * (total != 1)}" if per_step else f"{total} epoch{'s' * (total != 1)}"
    plot_series(xs, {"lr": lrs}, figure, xlabel=unit, ylabel="learning rate", title=f"schedule {name!r}")
    console.print(f"lr {lrs[0]:.3g} -> max {max(lrs):.3g} -> {lrs[-1]:.3g} over {counted}: {figure}", highlight=False)
    if isinstance(schedule, ScheduleWithMomentum):
        moms = [schedule.momentum(t) for t in xs]
        mom_figure = figure.with_name("schedule_momentum.png")
        plot_series(xs, {"momentum": moms}, mom_figure, xlabel=unit, ylabel="momentum", title=f"schedule {name!r}")
        console.print(f"momentum {moms[0]:.3g} -> min {min(moms):.3g} -> {moms[-1]:.3g}: {mom_figure}", highlight=False)
    return 0
