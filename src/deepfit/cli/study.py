"""`deepfit study NAME`: run a registered study over seeds and write its table and plots."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from rich.console import Console

from deepfit.cli.options import add_run_options, config_from_args, data_overrides
from deepfit.config import apply_overrides, parse_override
from deepfit.errors import ConfigError
from deepfit.studies import STUDIES, run_study, summary_markdown

console = Console()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("study", help="run a study (see `deepfit list studies`)")
    p.add_argument("study", metavar="NAME")
    p.add_argument("--seeds", type=int, help="number of seeds per variant")
    p.add_argument("--full", action="store_true", help="the GPU-scale version (full data, more epochs)")
    p.add_argument("--variants", help="comma-separated subset of the study's variants")
    p.add_argument("--engine", choices=["grouped", "sequential"], default="grouped",
                   help="train compatible runs at once as members of one group (default), or one at a time")
    add_run_options(p)
    p.set_defaults(func=cmd_study)


def cmd_study(args: argparse.Namespace) -> int:
    study = STUDIES.build(args.study)
    if args.seeds is not None and args.seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {args.seeds}")
    if args.variants:
        wanted = [v.strip() for v in args.variants.split(",")]
        unknown = [v for v in wanted if v not in study.variants]
        if unknown:
            raise ConfigError(f"--variants: unknown {unknown}; this study has {list(study.variants)}")
        study = dataclasses.replace(study, variants={v: study.variants[v] for v in wanted})
    config_from_args(args)  # validates the user's options once, before any training
    res = run_study(
        study,
        seeds=args.seeds,
        first_seed=args.seed or 0,
        full=args.full,
        user=_user_dict(args),
        overrides=args.overrides,
        out=args.out or "studies",
        quiet=args.quiet,
        engine=args.engine,
    )
    console.print(summary_markdown(res), highlight=False)
    console.print(f"study directory: {res.out_dir}", highlight=False)
    return 0


def _user_dict(args: argparse.Namespace) -> dict[str, Any]:
    """The dedicated flags as a nested dict (the study's own settings sit below them)."""
    pairs = {
        "train.epochs": args.epochs,
        "train.batch_size": args.batch_size,
        "data.subset": args.subset,
        "train.device": args.device,
        "data.dir": args.data_dir,
    }
    parsed = [(k.split("."), v) for k, v in pairs.items() if v is not None]
    if args.data:
        parsed += [parse_override(o) for o in data_overrides(args.data)]
    return apply_overrides({}, parsed)
