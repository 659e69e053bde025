"""The `deepfit` command: parse, dispatch, and turn a `DeepfitError` into a short message and exit status 2."""

from __future__ import annotations

import argparse
import functools
import sys
import warnings

from deepfit import __version__
from deepfit.errors import DeepfitError


def build_parser() -> argparse.ArgumentParser:
    from deepfit.cli import (
        compare,
        doctor,
        export,
        import_keras,
        inspect,
        lr_find,
        pretrain,
        prune,
        schedule,
        study,
        summary,
        sweep,
        train,
        transfer,
        zoo,
    )

    parser = argparse.ArgumentParser(prog="deepfit", description="Train deep neural networks that actually train.")
    parser.add_argument("--version", action="version", version=f"deepfit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train.add_parsers(sub)
    study.add_parsers(sub)
    sweep.add_parsers(sub)
    inspect.add_parsers(sub)
    prune.add_parsers(sub)
    transfer.add_parsers(sub)
    pretrain.add_parsers(sub)
    schedule.add_parsers(sub)
    lr_find.add_parsers(sub)
    doctor.add_parsers(sub)
    export.add_parsers(sub)
    summary.add_parsers(sub)
    compare.add_parsers(sub)
    import_keras.add_parsers(sub)
    zoo.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = functools.partial(_show_warning, args.command)
            return int(args.func(args) or 0)
    except DeepfitError as exc:
        print(f"deepfit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"deepfit {args.command}: interrupted", file=sys.stderr)
        return 130


def _show_warning(command: str, message: Warning | str, category: type[Warning], *_args: object, **_kw: object) -> None:
    """A warning as one line naming the command, like its errors, instead of Python's file, line and source."""
    print(f"deepfit {command}: warning: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
