"""The options every training command shares, and how they become one `RunConfig`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepfit.errors import ConfigError, OutputError
from deepfit.names import DATASETS
from deepfit.presets import PRESETS

if TYPE_CHECKING:
    from deepfit.config import RunConfig

# The modules behind these options (config, data: torch) are imported by the functions that use them, when a
# command runs, so that `deepfit --help` and a mistyped option answer at once.


def add_run_options(p: argparse.ArgumentParser, *,
                    out_help: str = "parent directory of run directories (default runs/)"
                    ) -> None:
    """Config, data, subset, device, seed and output options: one vocabulary for every command that trains.

    `out_help` is the help of `--out`, for commands whose output is not a run directory under runs/.
    """
    g = p.add_argument_group("run options")
    g.add_argument("--config", metavar="FILE", help="TOML config file (see configs/)")
    g.add_argument(
        "--preset",
        metavar="NAME",
        help="start from a named config under --config and --set: reference, guidelines, guidelines_selu",
    )
    g.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="overrides",
        help="override any config key, e.g. --set model.activation=elu (repeatable)",
    )
    g.add_argument("--keras", action="store_true", default=None,
                   help="Keras's defaults for everything not set ([conventions] keras = true; "
                   "docs/keras-convention.md)")
    g.add_argument("--epochs", type=int, help="maximum epochs (train.epochs)")
    g.add_argument("--batch-size", type=int, help="batch size (train.batch_size)")
    g.add_argument("--subset", type=int, metavar="N", help="train on the first N training samples")
    g.add_argument(
        "--data",
        metavar="NAME|FILE|DIR",
        help="dataset: a name (fashion_mnist), an .npz, .csv or .npy file (X.npy,LABELS.npy for a named pair), or a "
        "folder: IDX files, x_train.npy + y_train.npy, or images in class sub-folders",
    )
    g.add_argument("--data-dir", metavar="DIR", help="directory holding Fashion-MNIST's four IDX files")
    g.add_argument("--model", metavar="FILE.py:FUNCTION",
                   help="your own network: a function build(input_shape, num_outputs, **options) returning an "
                   "nn.Module (model.factory; replaces a preset's dense [model]; docs/own-model.md)")
    g.add_argument("--out", metavar="DIR", help=out_help)
    g.add_argument("--name", help="run name")
    g.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    g.add_argument("--seed", type=int, help="random seed")
    g.add_argument("--quiet", action="store_true", help="no progress output")
    g.add_argument("--log-format", choices=["auto", "plain", "json"],
                   help="progress output: auto (a bar in a terminal, one line per epoch in a pipe or file), plain "
                   "(one line per epoch) or json (one JSON object per line) (train.log_format)")


_FIGURE_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


def add_figure_out(p: argparse.ArgumentParser, figure: str) -> None:
    """`--out DIR` of a command that draws `figure`: a directory, as every command's `--out` is."""
    p.add_argument("--out", dest="figure_dir", metavar="DIR",
                   help=f"directory to write {figure} into (created if missing; default: the current directory)")
    p.set_defaults(out=None)


def figure_path(out: str | None, name: str) -> Path:
    """Where figure `name` goes under `--out DIR`, or in the current directory; checked before any work, and
    DIR is created when the figure is written.

    Raises:
        OutputError: DIR or a folder above it is a file, or DIR ends like an image file (`--out lr.png`).
    """
    if out is None:
        return Path(name)
    directory = Path(out)
    blocker = next((p for p in (directory, *directory.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise OutputError(f"--out {out}: expected a directory to write {name} into, but {blocker} is a file")
    if directory.suffix.lower() in _FIGURE_SUFFIXES:
        raise OutputError(
            f"--out {out}: expected a directory (as in every deepfit command), got a figure's file name; "
            f"the figure is written as DIR/{name}: give --out {directory.parent}"
        )
    return directory / name


def data_overrides(value: str) -> list[str]:
    """The `--set` overrides `--data VALUE` stands for: the source `deepfit.data.locate.locate_source` finds.

    Raises:
        DataError: VALUE looks like a path (a separator or an extension) but does not exist, or is a file of
            another type than .npz, .csv or .npy. Other unknown names are the registry's `ConfigError`.
    """
    if value in DATASETS and not Path(value).exists():  # a dataset's name: no need to load the data package
        return [f"data.name={_quote(value)}"]
    from deepfit.data.locate import locate_source

    name, options = locate_source(value)
    return [f"data.name={_quote(name)}", *(f"data.{key}={_quote(option)}" for key, option in options.items())]


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_from_args(
    args: argparse.Namespace, base: dict[str, Any] | None = None, default_preset: str | None = None
) -> RunConfig:
    """Merge preset < base dict < --config file < --set overrides < dedicated flags into one validated config.

    The preset is `--preset`, else `default_preset` when neither `--config` nor `--keras` is given (the
    default preset is deepfit's own choice of network; `--keras` alone asks for Keras's defaults).
    """
    from deepfit.config import load_config, merge_layer

    preset = args.preset or (default_preset if args.config is None and not args.keras else None)
    preset_name = None
    if preset is not None:
        try:
            preset_data = PRESETS.build(preset)
        except ConfigError as exc:
            raise ConfigError(f"--preset: {exc}") from None
        preset_name = preset_data.get("name")
        if args.model:  # your own network replaces the preset's dense one, whose keys would not apply to it
            preset_data = {k: v for k, v in preset_data.items() if k != "model"}
        base = merge_layer(preset_data, base or {})
    overrides = list(args.overrides)
    if args.data:
        overrides += data_overrides(args.data)
    flags = {
        "train.epochs": args.epochs,
        "train.batch_size": args.batch_size,
        "data.subset": args.subset,
        "train.device": args.device and _quote(args.device),
        "train.seed": args.seed,
        "data.dir": args.data_dir and _quote(args.data_dir),
        "model.factory": args.model and _quote(args.model),
        "out": args.out and _quote(args.out),
        "name": args.name and _quote(args.name),
        "train.log_format": args.log_format and _quote(args.log_format),
        "conventions.keras": args.keras and "true",
    }
    overrides += [f"{k}={v}" for k, v in flags.items() if v is not None]
    cfg = load_config(args.config, overrides, base=base)
    if args.name is not None:
        return cfg
    from deepfit.run.naming import named_run  # imports torch: only once the config is valid

    return named_run(cfg, preset_name)  # a factory's, not the preset's name
