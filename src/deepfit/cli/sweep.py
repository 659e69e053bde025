"""`deepfit sweep`: a grid of settings over seeds, trained in groups, summarised like a study."""

from __future__ import annotations

import argparse

from rich.console import Console

from deepfit.cli.options import add_run_options, config_from_args
from deepfit.errors import ConfigError

console = Console()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="train a grid of settings over seeds, compatible runs at once; writes a study directory",
        description="Every combination of the --grid values (and of a [sweep] grid in the config file), "
        "over --seeds seeds. Runs that differ only in numbers a member may have of its own (lr, betas, "
        "momentum, weight decay, schedule, penalties, dropout, clipping threshold, max-norm, seed, init, "
        "activation) train at once as one group.",
    )
    add_run_options(p, out_help="parent directory of the sweep's directory (default studies/)")
    p.add_argument("--grid", metavar="KEY=V1,V2,...", action="append", default=[],
                   help="a config key and its values, e.g. --grid optimizer.lr=1e-3,3e-3 (repeatable)")
    p.add_argument("--seeds", type=int, help="seeds per combination (default: [sweep] seeds, or 1)")
    p.add_argument("--engine", choices=["grouped", "sequential"], help="train runs in groups (default) or one by one")
    p.add_argument("--save-models", action="store_true", help="write every run's model under <sweep>/models/")
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, base={"name": "sweep", "out": "studies"})  # validated before torch is imported

    from deepfit.cli.study import print_results
    from deepfit.config import SweepConfig, to_dict
    from deepfit.run.sweep import expand_grid, parse_grid
    from deepfit.studies import Study, run_study
    from deepfit.train.distributed import refuse_under_torchrun

    refuse_under_torchrun("deepfit sweep")
    sweep = cfg.sweep or SweepConfig()
    grid = dict(sweep.grid)
    for option in args.grid:
        key, values = parse_grid(option)
        grid[key] = values
    if not grid:
        raise ConfigError("deepfit sweep needs a grid: --grid key=v1,v2,... or a [sweep] grid in the config file")
    seeds = args.seeds if args.seeds is not None else sweep.seeds
    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    base = to_dict(cfg)
    base.pop("sweep", None)
    keys = ", ".join(grid)
    study = Study(
        name=cfg.name,
        claim=f"Sweep over {keys}: {len(expand_grid(grid))} combinations x {seeds} seeds "
              f"(seeds {cfg.train.seed}..{cfg.train.seed + seeds - 1}).",
        base=base,
        variants=expand_grid(grid),
        seeds=seeds,
        kind="sweep",
    )
    res = run_study(study, seeds=seeds, first_seed=cfg.train.seed, out=cfg.out, quiet=args.quiet,
                    engine=args.engine or sweep.engine, save_models=args.save_models or sweep.save_models)
    print_results(res, console)
    console.print(f"sweep directory: {res.out_dir} ({res.wall_time_s:.0f} s; sweep.html)", highlight=False,
                  soft_wrap=True)
    return 0
