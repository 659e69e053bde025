"""`deepfit transfer`: start a run from a saved model's lower layers and fine-tune it in two stages."""

from __future__ import annotations

import argparse
import json

from deepfit.cli.options import add_run_options, config_from_args


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transfer",
        help="reuse a saved model's layers for a new task (freeze, then unfreeze with a lower lr)",
        description="Reuse the lower layers of a saved run (or `deepfit pretrain` directory) with a new head. "
        "Each flag sets a key of the [transfer] config section.",
    )
    p.add_argument("--from", dest="source", required=True, metavar="DIR|NAME",
                   help="run or pretrain directory, or a name in the zoo (deepfit zoo list)")
    p.add_argument("--reuse", type=int, metavar="N", help="hidden layers to reuse, bottom first (default: all)")
    p.add_argument("--freeze-epochs", type=int, metavar="K", help="epochs with the reused layers frozen")
    p.add_argument("--unfreeze", metavar="all|none|K", help="what to unfreeze after K epochs (default: all)")
    p.add_argument("--lr-factor", type=float, help="reused layers' lr / optimizer.lr once unfrozen (default 0.1)")
    p.add_argument("--task", choices=["multiclass", "binary", "regression"], help="data.task of the new task")
    add_run_options(p)
    p.set_defaults(func=cmd_transfer)


def cmd_transfer(args: argparse.Namespace) -> int:
    unfreeze = args.unfreeze
    if unfreeze is not None:
        unfreeze = unfreeze if unfreeze.isdigit() else json.dumps(unfreeze)  # a count, or all / none
    flags = {
        "transfer.source": json.dumps(args.source),
        "transfer.reuse": args.reuse,
        "transfer.freeze_epochs": args.freeze_epochs,
        "transfer.unfreeze": unfreeze,
        "transfer.lr_factor": args.lr_factor,
        "data.task": args.task and json.dumps(args.task),
    }
    args.overrides = [*args.overrides, *(f"{k}={v}" for k, v in flags.items() if v is not None)]
    cfg = config_from_args(args)  # validated before torch is imported

    from deepfit.cli.train import report_run
    from deepfit.run import run_training

    return report_run(run_training(cfg, quiet=args.quiet), quiet=args.quiet)
