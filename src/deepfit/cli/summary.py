"""`deepfit summary RUN | --config FILE`: the network's layers, output shapes and parameter counts, as Keras prints."""

from __future__ import annotations

import argparse

from rich.console import Console

from deepfit.cli.options import add_run_options, config_from_args
from deepfit.errors import ConfigError
from deepfit.presets import DEFAULT_TRAIN_PRESET

console = Console()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "summary",
        help="layer table of a run's network, or of the one a config would train: output shapes and parameters",
    )
    p.add_argument("run_dir", nargs="?", help="a run directory (else the network of --config/--preset/--set)")
    add_run_options(p)
    p.set_defaults(func=cmd_summary)


def cmd_summary(args: argparse.Namespace) -> int:
    from deepfit.nn import load_model
    from deepfit.report.summary import print_summary, summarize
    from deepfit.run import build_member, existing_run_dir, load_splits, model_spec

    if args.run_dir is not None:
        if args.config or args.preset or args.overrides:
            raise ConfigError("summary: give a run directory or --config/--preset/--set, not both")
        model, spec, _, _ = load_model(existing_run_dir(args.run_dir))
        title = f"{args.run_dir}"
    else:
        # The input shape and class count come from the data, as when training: the data is loaded once.
        cfg = config_from_args(args, default_preset=DEFAULT_TRAIN_PRESET)
        spec = model_spec(cfg, load_splits(cfg))
        model = build_member(cfg, spec)
        title = f"{cfg.name} (untrained)"
    print_summary(console, summarize(model, spec.input_shape), title=title)
    return 0
