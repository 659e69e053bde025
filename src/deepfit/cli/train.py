"""`deepfit train`, `deepfit evaluate` and `deepfit predict`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from deepfit.atomic import atomic_path, write_text_atomic
from deepfit.cli.options import add_run_options, config_from_args
from deepfit.errors import ConfigError, DataError, OutputError, ShapeError
from deepfit.presets import DEFAULT_TRAIN_PRESET

if TYPE_CHECKING:
    import numpy as np
    import torch
    from rich.table import Table

    from deepfit.config import RunConfig
    from deepfit.diagnose.rules import Finding
    from deepfit.run import RunResult
    from deepfit.train import Trainer

# torch, numpy and the layers below are imported inside the commands, so that parsing stays instant
console = Console()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a network and write a run directory")
    add_run_options(p)
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its checkpoint")
    p.add_argument("--diagnose", action="store_true",
                   help="attach the training doctor: findings printed when they appear, a doctor section in the "
                   "report (train.diagnose = true)")
    p.add_argument("--tensorboard", action="store_true",
                   help="write TensorBoard event files into <run>/tensorboard/ (train.tensorboard = true)")
    p.add_argument("--mlflow", nargs="?", const=True, metavar="URI",
                   help="log params, metrics and the run directory to MLflow: a local mlruns/ store, or URI "
                   "(train.mlflow)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a saved run on a split")
    p.add_argument("run_dir")
    p.add_argument("--split", choices=["train", "valid", "test"], default="test")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="predict with a saved run on inputs from an .npz or .npy file")
    p.add_argument("run_dir")
    p.add_argument("--input", required=True, metavar="FILE.npz|FILE.npy",
                   help="array 'x' (or 'x_test') of an .npz archive, or an .npy array, of samples")
    p.add_argument("--output", metavar="FILE.npz|FILE.csv",
                   help="where to write probabilities, predicted classes and their names: an .npz archive (.npz is "
                   "added if missing) or a .csv table (default: print)")
    p.add_argument("--mc-samples", type=int, metavar="N", help="MC Dropout: average N passes with dropout on")
    p.add_argument("--mc-seed", type=int, default=0, help="seed of the MC Dropout masks")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_predict)


def cmd_train(args: argparse.Namespace) -> int:
    """Train, resume or diagnose a run; Ctrl-C ends it with the command that continues it (exit 130)."""
    cfg = None if args.resume else _new_run_config(args)  # a typo answers here, before torch is imported
    from deepfit.run.rundir import RunInterrupted

    try:
        return _train(args, cfg)
    except RunInterrupted as exc:
        print(f"deepfit train: {exc}", file=sys.stderr)
        return 130


def _new_run_config(args: argparse.Namespace) -> RunConfig:
    """The validated config of a new run: preset, --config, --set and the flags."""
    args.overrides = [*args.overrides, *_tracking_overrides(args)]
    cfg = config_from_args(args, default_preset=DEFAULT_TRAIN_PRESET)
    if cfg.sweep is not None:
        raise ConfigError("this config has a [sweep] section: run it with `deepfit sweep`, or remove the section")
    return cfg


def _train(args: argparse.Namespace, cfg: RunConfig | None) -> int:
    from deepfit.cli.run_summary import SummaryAtStart
    from deepfit.diagnose.doctor import run_diagnosed
    from deepfit.run import load_run_config, run_training
    from deepfit.train.checkpoint import checkpoint_epoch
    from deepfit.train.distributed import launched_rank

    if args.resume:
        if args.config or args.overrides or args.preset:
            raise ConfigError("--resume continues a run with its own config.toml; drop --config, --preset and --set")
        if args.tensorboard or args.mlflow is not None:
            raise ConfigError("--resume continues a run as its config.toml says; set train.tensorboard or train.mlflow "
                              "there instead of --tensorboard or --mlflow")
        run_dir = Path(args.resume)
        cfg = load_run_config(run_dir)
        epoch = checkpoint_epoch(run_dir / "checkpoint")
        if epoch is not None and launched_rank() == 0:  # without one, run_training says what is wrong
            console.print(f"resuming {run_dir} after epoch {epoch} of {cfg.train.epochs}", highlight=False,
                          soft_wrap=True)
        start = SummaryAtStart(None if args.quiet else console, title=cfg.name)
        result = run_training(cfg, quiet=args.quiet, run_dir=run_dir, resume=True, extra_callbacks=[start])
    else:
        start = SummaryAtStart(None if args.quiet else console, title=cfg.name)
        if args.diagnose or cfg.train.diagnose:
            result, _ = run_diagnosed(cfg, quiet=args.quiet, report=_tell, extra_callbacks=[start])
        else:
            result = run_training(cfg, quiet=args.quiet, extra_callbacks=[start])
    if start.text is not None and result.main:
        write_text_atomic(result.run_dir / "summary.txt", start.text)
    return report_run(result, quiet=args.quiet)


def _tracking_overrides(args: argparse.Namespace) -> list[str]:
    """`--set` overrides of `--tensorboard` and `--mlflow [URI]`."""
    out = ["train.tensorboard=true"] if args.tensorboard else []
    if args.mlflow is not None:
        out.append("train.mlflow=" + ("true" if args.mlflow is True else json.dumps(args.mlflow)))
    return out


def _tell(finding: Finding, epoch: int) -> None:
    """A doctor's finding, printed once, when it first appears."""
    remedy = " ".join(f"--set {o}" for o in finding.remedies[0]) if finding.remedies else ""
    console.print(f"doctor, epoch {epoch}: {finding.name}: {finding.summary}" + (f"; try {remedy}" if remedy else "")
                  + f" ({finding.docs})", highlight=False)


def report_run(result: RunResult, *, quiet: bool = False) -> int:
    """Write a finished run's `report.html` and print its accuracies and where it lies (and with MLflow, add
    the report and the files written after training to its MLflow run). Under `quiet`, which printed no
    progress, it also says what an automatic `data.valid` chose (config.toml records it).

    Exit status 0, or 1 when the run diverged (its directory is written all the same, with the weights
    of the last finite epoch). The other ranks of a data-parallel run print nothing.
    """
    from deepfit.report.run_report import write_run_report
    from deepfit.run.tracking import log_report_files

    if not result.main:
        return 1 if "diverged" in result.metrics else 0
    report = write_run_report(result.run_dir)
    m = result.metrics
    if "mlflow" in m:
        log_report_files(m["mlflow"], result.run_dir)
    figures = "  ".join(f"{s} acc {m[s]['acc']:.4f}" for s in ("valid", "test") if s in m and "acc" in m[s])
    if "early_stopping" in m:
        console.print(early_stopping_line(m["early_stopping"], m["epochs"]), highlight=False, soft_wrap=True)
    console.print(f"{figures}\nrun directory: {result.run_dir}\nreport: {report}", highlight=False, soft_wrap=True)
    if "diverged" in m:
        print(f"deepfit: the run diverged: {m['note']}", file=sys.stderr)
        return 1
    return 0


def early_stopping_line(es: dict, epochs: int) -> str:
    """`early stopping after epoch 8: val_loss did not improve for 5 epochs; restored the weights of epoch 3
    (val_loss 0.2311)`."""
    line = (f"early stopping after epoch {es['stopped_epoch']}: {es['monitor']} did not improve for "
            f"{es['stopped_epoch'] - es['best_epoch']} epoch(s); ")
    if es["restored_epoch"] is None:
        return line + f"kept the weights of epoch {epochs} (restore_best is off)"
    best = f" ({es['monitor']} {es['best']:.4g})" if es["best"] is not None else ""
    return line + f"restored the weights of epoch {es['restored_epoch']}{best}"


def _load(run_dir: str, device: str) -> tuple[Trainer, dict]:
    from deepfit.nn import load_model
    from deepfit.run import load_run_config, resolve_device
    from deepfit.run.setup import eval_batch_option
    from deepfit.train import Trainer, objective_for

    cfg = load_run_config(run_dir)
    model, spec, meta, extra = load_model(run_dir)
    trainer = Trainer(
        model,
        objective_for(meta.get("task", cfg.train.loss), cfg.data.task),
        device=resolve_device(device),
        eval_batch_size=eval_batch_option(cfg.train),
    )
    return trainer, {"cfg": cfg, "meta": meta, "spec": spec, **extra}


def cmd_evaluate(args: argparse.Namespace) -> int:
    from deepfit.run import load_splits

    trainer, ctx = _load(args.run_dir, args.device)
    data = getattr(load_splits(ctx["cfg"]), args.split)
    if data is None:
        raise ConfigError(f"--split {args.split}: this run's data has no {args.split} split")
    figures = trainer.evaluate(data)
    console.print(f"{args.split}: " + "  ".join(f"{k} {v:.4f}" for k, v in figures.items()), highlight=False)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import torch

    from deepfit.cli.predictions import named_predictions
    from deepfit.data.splits import as_float_inputs

    trainer, ctx = _load(args.run_dir, args.device)
    x = _read_inputs(Path(args.input))
    shape = tuple(ctx["spec"].input_shape)
    if x.ndim < 2 or tuple(x.shape[1:]) != shape:
        raise ShapeError(f"{args.input}: expected samples of shape (n, {', '.join(map(str, shape))}) as the model "
                         f"was trained on, found an array of shape {x.shape}")
    xt = torch.from_numpy(as_float_inputs(x, source=args.input, split="predict"))  # as training: no NaN, no text
    if "mean" in ctx:
        xt = (xt - ctx["mean"]) / ctx["std"]
    mc = None
    if args.mc_samples is not None:
        mc = trainer.predict(xt, mc_samples=args.mc_samples, seed=args.mc_seed)
        probs = mc.mean
    else:
        probs = trainer.predict(xt)
    if args.output:
        pred = probs.argmax(1) if probs.dim() == 2 else (probs > 0.5).long()
        arrays = {"probabilities": probs.numpy(), "predictions": pred.numpy()}
        if ctx["cfg"].data.task != "regression":  # the class name (and original label) of each prediction
            arrays.update(named_predictions(arrays["predictions"], ctx["meta"].get("class_names"),
                                            ctx["meta"].get("label_values")))
        if mc is not None:  # MC Dropout: std over passes and predictive entropy of the mean
            arrays["std"] = mc.std.numpy()
            if mc.entropy is not None:
                arrays["entropy"] = mc.entropy.numpy()
        written = _write_predictions(args.output, arrays)
        console.print(f"wrote {len(probs)} predictions to {written}", highlight=False, soft_wrap=True)
    else:
        console.print(prediction_table(probs[:20], ctx["meta"].get("class_names"), ctx["cfg"].data.task))
        if len(probs) > 20:
            console.print(f"... {len(probs) - 20} more; use --output FILE.npz", highlight=False)
    if mc is not None and mc.entropy is not None:
        console.print(f"MC Dropout, {mc.samples} passes: mean predictive entropy {float(mc.entropy.mean()):.4f}, "
                      f"mean std of the probabilities {float(mc.std.mean()):.4f}", highlight=False)
    return 0


def prediction_table(probs: torch.Tensor, names: list[str] | None, task: str) -> Table:
    """One row per sample: the predicted class, then each class's probability under a column named after it
    (`class k` when the data had no names); a binary run shows p(class 1), a regression run its value."""
    from rich.table import Table

    table = Table(box=None, show_edge=False, pad_edge=False)
    if task == "regression":
        table.add_column("prediction", justify="right")
        for row in probs:
            table.add_row(f"{float(row.reshape(-1)[0]):.4g}")
        return table
    binary = probs.dim() == 1 or probs.shape[1] == 1
    count = 2 if binary else probs.shape[1]
    labels = [str(n) for n in names] if names and len(names) == count else [f"class {k}" for k in range(count)]
    table.add_column("predicted")
    for label in labels[1:] if binary else labels:
        table.add_column(f"p({label})" if binary else label, justify="right")
    for row in probs:
        values = row.reshape(-1).tolist()
        k = int(values[0] > 0.5) if binary else int(row.argmax())
        table.add_row(labels[k], *(f"{p:.3f}" for p in values))
    return table


def _read_inputs(path: Path) -> np.ndarray:
    """The samples of an .npz archive (array `x`, `x_test` or `X`) or an .npy array, read without pickle."""
    import numpy as np

    if not path.is_file():
        raise DataError(f"{path}: input file not found")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz or .npy file ({exc})") from None
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded as f:
        for key in ("x", "x_test", "X"):
            if key in f:
                try:
                    return f[key]
                except (ValueError, OSError) as exc:
                    raise DataError(f"{path}: array {key!r} is not readable ({exc})") from None
        raise DataError(f"{path}: expected an array named 'x' (or 'x_test'), found {sorted(f.files)}")


def _write_predictions(output: str, arrays: dict[str, np.ndarray]) -> Path:
    """Write `arrays` to `output` atomically: a .csv table (`predictions.write_csv`), else an .npz archive named
    as np.savez names it (`.npz` added); returns the path."""
    import numpy as np

    from deepfit.cli.predictions import write_csv

    path = Path(output)
    if path.is_dir():
        raise OutputError(f"--output {output}: is a directory; expected a file name such as {path / 'predictions.npz'}")
    if path.suffix not in (".npz", ".csv"):
        path = path.with_name(path.name + ".npz")
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise OutputError(f"--output {output}: {blocker} is a file, not a directory; choose another --output")
    try:
        if path.suffix == ".csv":
            return write_csv(path, arrays)
        with atomic_path(path) as tmp, tmp.open("wb") as f:
            np.savez(f, **arrays)
    except OutputError as exc:
        raise OutputError(f"--output: {exc}; choose another --output") from None
    return path
