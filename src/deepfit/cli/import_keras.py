"""`deepfit import-keras FILE`: a Keras Sequential model (.h5 or .keras) as a deepfit run directory."""

from __future__ import annotations

import argparse

from rich.console import Console

console = Console()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-keras",
        help="turn a Keras Sequential of Dense layers (.h5 or .keras) into a deepfit run directory",
        description="Read a Keras model file with h5py (no TensorFlow) and write a run directory that "
        "predict, evaluate, export and transfer --from accept (docs/keras.md).",
    )
    p.add_argument("file", metavar="MODEL.h5|MODEL.keras", help="a file written by Keras's model.save")
    p.add_argument("--out", default="runs", metavar="DIR", help="parent directory of the run directory (runs/)")
    p.add_argument("--name", help="run name (default: the file's name without its extension)")
    p.set_defaults(func=cmd_import_keras)


def cmd_import_keras(args: argparse.Namespace) -> int:
    from deepfit.run.keras_import import import_keras

    run_dir, converted = import_keras(args.file, out=args.out, name=args.name)
    spec = converted.spec
    widths = " -> ".join(str(w) for w in [spec.in_features, *spec.hidden, spec.num_outputs])
    console.print(f"imported {args.file}: {widths}, activation {spec.activation}, batch norm {spec.norm}\n"
                  f"run directory: {run_dir}", highlight=False, soft_wrap=True)
    return 0
