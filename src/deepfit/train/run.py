"""One training run from a validated `RunConfig`: data -> model -> Trainer -> run directory.

This is the only place in `train/` that reads configuration objects; it turns them into plain arguments.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

import deepfit
from deepfit.atomic import write_text_atomic
from deepfit.config import RunConfig, config_from_dict, read_toml, to_toml
from deepfit.data import Splits, load_data
from deepfit.errors import ConfigError, DeviceError
from deepfit.nn import ModelSpec, build_model, save_model
from deepfit.optim import build_optimizer, build_schedule
from deepfit.train.callbacks import Callback, Checkpoint, EarlyStopping, ProgressBar
from deepfit.train.checkpoint import read_checkpoint
from deepfit.train.history import History
from deepfit.train.objectives import objective_for
from deepfit.train.rundir import create_run_dir, existing_run_dir, write_json
from deepfit.train.seeding import seed_everything
from deepfit.train.trainer import Trainer


@dataclass
class RunResult:
    """What a finished run produced; `run_dir` is None for runs kept in memory (studies)."""

    config: RunConfig
    history: History
    metrics: dict[str, Any]
    run_dir: Path | None = None
    trainer: Trainer | None = field(default=None, repr=False)
    splits: Splits | None = field(default=None, repr=False)


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when present; asking for CUDA without it is a `DeviceError`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"train.device: expected auto, cpu, cuda or cuda:N, got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"train.device is {name!r} but no CUDA device is available; use --device cpu")
    return device


def load_splits(cfg: RunConfig) -> Splits:
    d = cfg.data
    return load_data(
        d.name,
        dir=d.dir,
        path=d.path,
        valid=d.valid,
        subset=d.subset,
        standardize=d.standardize,
        seed=cfg.train.seed,
        task=d.task,
        label_column=d.label_column,
    )


def model_spec(cfg: RunConfig, splits: Splits) -> ModelSpec:
    m = cfg.model
    outputs = splits.num_classes if cfg.data.task == "multiclass" else 1
    return ModelSpec(
        input_shape=tuple(splits.input_shape),
        num_outputs=int(outputs),
        hidden=list(m.hidden),
        activation=m.activation,
        init=m.init,
        norm=m.norm,
        dropout=m.dropout,
    )


def build_trainer(cfg: RunConfig, model: torch.nn.Module, device: torch.device, callbacks: list[Callback]) -> Trainer:
    """A Trainer with the optimizer, schedule and objective named in `cfg`."""
    t = cfg.train
    objective = objective_for(t.loss, cfg.data.task)
    optimizer = build_optimizer(cfg.optimizer.name, model.parameters(), **cfg.optimizer.params())
    schedule = None
    if cfg.schedule.name != "constant" or cfg.schedule.params():
        schedule = build_schedule(cfg.schedule.name, cfg.optimizer.lr, **cfg.schedule.params())
    return Trainer(
        model,
        objective,
        optimizer,
        batch_size=t.batch_size,
        schedule=schedule,
        schedule_interval=cfg.schedule.interval,
        callbacks=callbacks,
        device=device,
        seed=t.seed,
        eval_batch_size=t.eval_batch_size,
    )


def run_training(
    cfg: RunConfig,
    *,
    quiet: bool = True,
    run_dir: Path | None = None,
    resume: bool = False,
    save: bool = True,
    splits: Splits | None = None,
) -> RunResult:
    """Train as `cfg` says. With `save`, write the run directory; with `resume`, continue `run_dir`."""
    t = cfg.train
    if t.threads:
        torch.set_num_threads(t.threads)
    device = resolve_device(t.device)
    if save and run_dir is None:
        run_dir = create_run_dir(cfg.out, cfg.name)
    if save:
        write_text_atomic(run_dir / "config.toml", to_toml(cfg))
    seed_everything(t.seed)
    splits = splits if splits is not None else load_splits(cfg)
    spec = model_spec(cfg, splits)
    model = build_model(spec)
    callbacks: list[Callback] = []
    if t.early_stopping is not None:
        es = t.early_stopping
        monitor = es.monitor if splits.valid is not None else es.monitor.removeprefix("val_")
        callbacks.append(EarlyStopping(monitor, es.patience, es.min_delta, es.restore_best))
    if save:
        callbacks.append(Checkpoint(run_dir / "checkpoint", every_epochs=t.checkpoint_every))
    if not quiet:
        callbacks.append(ProgressBar())
    trainer = build_trainer(cfg, model, device, callbacks)
    if resume:
        trainer.load_state_dict(read_checkpoint(run_dir / "checkpoint"))
    start = time.perf_counter()
    history = trainer.fit(splits.train, splits.valid, epochs=t.epochs)
    metrics = final_metrics(trainer, splits)
    metrics["fit_time_s"] = time.perf_counter() - start
    metrics["device"] = str(device)
    if save:
        write_run_files(run_dir, trainer, spec, splits, metrics)
    return RunResult(cfg, history, metrics, run_dir, trainer, splits)


def final_metrics(trainer: Trainer, splits: Splits) -> dict[str, Any]:
    """Loss/accuracy on each split in evaluation mode, the test confusion matrix and timing figures."""
    metrics: dict[str, Any] = {"epochs": trainer.epoch}
    for name in ("train", "valid", "test"):
        data = getattr(splits, name)
        if data is not None and len(data):
            metrics[name] = trainer.evaluate(data)
    times = trainer.history["epoch_time_s"]
    metrics["seconds_per_epoch"] = sum(times) / len(times) if times else float("nan")
    es = next((c for c in trainer.callbacks if isinstance(c, EarlyStopping)), None)
    if es is not None and es.best_epoch:
        metrics["best_epoch"] = es.best_epoch
    if splits.test is not None and len(splits.test) and splits.num_classes and trainer.objective.correct:
        metrics["confusion_matrix"] = confusion_matrix(trainer, splits).tolist()
    return metrics


def confusion_matrix(trainer: Trainer, splits: Splits) -> torch.Tensor:
    """Rows are true classes, columns predicted classes, on the test split."""
    probs = trainer.predict(splits.test.x)
    k = splits.num_classes
    pred = probs.argmax(1) if probs.dim() == 2 else (probs > 0.5).long()
    y = splits.test.y.cpu().long()
    return torch.bincount(y * k + pred, minlength=k * k).reshape(k, k)


def write_run_files(run_dir: Path, trainer: Trainer, spec: ModelSpec, splits: Splits, metrics: dict[str, Any]) -> None:
    trainer.history.to_csv(run_dir / "history.csv")
    extra = {
        "task": trainer.objective.name,
        "class_names": splits.class_names,
        "standardized": splits.mean is not None,
    }
    tensors = {"mean": splits.mean, "std": splits.std} if splits.mean is not None else None
    save_model(trainer.model, spec, run_dir, extra=extra, tensors=tensors)
    write_json(run_dir / "metrics.json", {**metrics, "versions": versions()})


def versions() -> dict[str, str]:
    """deepfit, torch and git commit, saved with every result."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"deepfit": deepfit.__version__, "torch": torch.__version__, "commit": commit or "unknown"}


def load_run_config(run_dir: str | Path) -> RunConfig:
    """The resolved config of an existing run directory."""
    run_dir = existing_run_dir(run_dir)
    return config_from_dict(read_toml(run_dir / "config.toml"), source=str(run_dir / "config.toml"))
