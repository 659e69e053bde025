"""`deepfit export RUN --format onnx|torchscript`: the run's model as one inference file for other runtimes."""

from __future__ import annotations

import argparse

from rich.console import Console

console = Console()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write a run's model as ONNX or TorchScript, with input scaling, standardisation and batch norm folded",
    )
    p.add_argument("run_dir")
    p.add_argument("--format", default="onnx", help="onnx or torchscript (default onnx; `deepfit list exports`)")
    p.add_argument("--out", metavar="FILE", help="output file (default <run_dir>/model.onnx or model.pt)")
    p.add_argument(
        "--input-dtype",
        help="float32 or uint8: uint8 takes raw pixels 0-255 and scales them by 1/255 as deepfit's loaders do; "
        "float32 takes inputs as `deepfit predict` takes float arrays (default: as the run's training file held "
        "them, uint8 for Fashion-MNIST's pixels; float32 for runs saved before deepfit recorded it)",
    )
    p.add_argument("--logits", action="store_true", help="output the raw network outputs, not probabilities")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from deepfit.run.export import EXPORT_FORMATS, export_run, run_input_dtype

    dtype = args.input_dtype or run_input_dtype(args.run_dir)
    path = export_run(args.run_dir, args.format, args.out, input_dtype=dtype, logits=args.logits)
    what = "logits" if args.logits else "the predictions of `deepfit predict`"
    console.print(f"wrote {path} ({EXPORT_FORMATS.canonical(args.format)}, {dtype} inputs -> {what})",
                  highlight=False, soft_wrap=True)
    return 0
