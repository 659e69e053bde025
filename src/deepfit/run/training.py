"""One training run from a validated `RunConfig`: set-up, fit, final figures and the run directory."""

from __future__ import annotations

import shutil
import subprocess
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib
import torch

import deepfit
from deepfit.atomic import remove_stale_temporaries, write_text_atomic
from deepfit.config import RunConfig, config_from_dict, read_toml, to_dict, to_toml
from deepfit.data import Splits
from deepfit.data.torch_data import TorchData
from deepfit.errors import CheckpointError, ConfigError, DeepfitError
from deepfit.nn import FactorySpec, ModelSpec, Violation, check_self_normalizing, save_model
from deepfit.nn.dropout import mc_predict
from deepfit.nn.factory import save_source
from deepfit.run.misclassified import save_misclassified
from deepfit.run.predictions import FinalPass
from deepfit.run.provenance import provenance
from deepfit.run.resumed import as_written
from deepfit.run.rundir import RunInterrupted, create_run_dir, existing_run_dir, write_json
from deepfit.run.setup import (
    build_member,
    build_trainer,
    load_splits,
    model_spec,
    resolve_device,
    run_callbacks,
    stream_option,
    torch_splits,
)
from deepfit.run.staged import fit_staged, start_from_saved
from deepfit.run.threads import use_threads
from deepfit.run.tracking import flat_config, log_final_metrics, log_run_files, mlflow_run, tracking_callbacks
from deepfit.train import Callback, Checkpoint, EarlyStopping, History, Trainer
from deepfit.train.checkpoint import checkpoint_epoch, read_checkpoint
from deepfit.train.distributed import DataParallel, joined
from deepfit.train.placement import should_stream
from deepfit.train.seeding import seed_everything

_STAGED_NOT_RESUMABLE = "runs with a [transfer] section (staged fine-tuning) cannot be resumed yet"


@dataclass
class RunResult:
    """What a finished run produced; `run_dir` is None for runs kept in memory (studies, sweeps)."""

    config: RunConfig
    history: History
    metrics: dict[str, Any]
    run_dir: Path | None = None
    trainer: Trainer | None = field(default=None, repr=False)
    splits: Splits | None = field(default=None, repr=False)
    member: int = 0  # which member of `trainer` this run is (runs trained in a group share one Trainer)
    main: bool = True  # False on the ranks of a data-parallel run other than 0, which write and print nothing
    final: FinalPass | None = field(default=None, repr=False)  # the outputs on each split the final figures came from

    @property
    def model(self) -> torch.nn.Module:
        return self.trainer.members[self.member].model

    def _repr_html_(self) -> str:
        """The run's report inline in Jupyter (report/notebook.py)."""
        from deepfit.report.notebook import run_html

        return run_html(run_dir=self.run_dir, config_text=to_toml(self.config), metrics=self.metrics,
                        history=self.history.rows)
    def test_probabilities(self) -> torch.Tensor:
        """This run's probabilities on its test split, (n, ...) on the CPU, from the final pass its figures came
        from: no new pass over the test set."""
        if self.final is None:
            self.final = FinalPass(self.trainer, self.splits)
        return self.final.probabilities("test")[self.member]

    def predict(self, x: torch.Tensor, *, mc_samples: int | None = None, seed: int = 0) -> Any:
        """This run's probabilities for `x` (its member's, when trained in a group), or with `mc_samples` its
        MC Dropout prediction (`MCPrediction`)."""
        if mc_samples is None:
            probs = self.trainer.predict(x)
            return probs if len(self.trainer.members) == 1 else probs[self.member]
        if len(self.trainer.members) == 1:
            return self.trainer.predict(x, mc_samples=mc_samples, seed=seed)
        return mc_predict(self.model, x.to(self.trainer.device), self.trainer.objective.output, mc_samples,
                          seed=seed, entropy=self.trainer.objective.hits is not None)


def run_training(
    cfg: RunConfig,
    *,
    quiet: bool = True,
    run_dir: Path | None = None,
    resume: bool = False,
    save: bool = True,
    splits: Splits | None = None,
    extra_callbacks: Sequence[Callback] = (),
    data: TorchData | None = None,
    test_data: TorchData | None = None,
) -> RunResult:
    """Train as `cfg` says. With `save`, write the run directory; with `resume`, continue `run_dir`.

    `data` (and `test_data`) is your own `torch.utils.data.Dataset` or `DataLoader` of (input, label)
    samples instead of `cfg.data`'s source: read once into memory, split and standardised as `cfg.data`
    says (docs/own-model.md); the run's config.toml then records `data.name = "python"`.

    `extra_callbacks` join the ones `cfg` asks for (studies pass probes this way). Started by torchrun
    with several processes, the run is data-parallel (docs/distributed.md): rank 0 alone writes.
    """
    t = cfg.train
    threads = use_threads(t.threads)
    if t.threads == "auto":  # config.toml records the count, so that --resume runs the same arithmetic
        t = t.model_copy(update={"threads": threads})
        cfg = cfg.model_copy(update={"train": t})
    if data is not None:
        cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"name": "python"})})
    with joined(resolve_device(t.device)) as (device, parallel):
        if data is not None and splits is None:
            splits = torch_splits(cfg, data, test_data)
        return _train(cfg, device, parallel, threads, quiet=quiet, run_dir=run_dir, resume=resume, save=save,
                      splits=splits, extra_callbacks=extra_callbacks)


def _train(
    cfg: RunConfig, device: torch.device, parallel: DataParallel | None, threads: int, *, quiet: bool,
    run_dir: Path | None, resume: bool, save: bool, splits: Splits | None, extra_callbacks: Sequence[Callback],
) -> RunResult:
    t = cfg.train
    main = parallel is None or parallel.main
    quiet = quiet or not main
    if resume and cfg.transfer is not None:
        raise ConfigError(f"--resume: {_STAGED_NOT_RESUMABLE}")
    if cfg.transfer is not None and cfg.model.factory is not None:
        raise ConfigError(f"[transfer] builds a dense network on a saved model's layers, but model.factory = "
                          f"{cfg.model.factory!r} builds your own; remove one of them")
    state = read_resume_state(run_dir, cfg, tidy=main) if resume else None
    origin = provenance(state, run_dir)  # the first command and start, and this resume, kept across resumes
    cfg = as_written(cfg, state)  # a run from before data.split resumes on its first-rows split
    seed_everything(t.seed)
    splits = splits if splits is not None else load_splits(cfg)
    cfg = resolved_config(cfg, splits)
    own_dir = run_dir if resume else None  # a resumed factory model is rebuilt from the run's copy of its file
    spec = model_spec(cfg, splits, directory=own_dir)
    model = build_member(cfg, spec, own_dir)
    reused: list[str] = []
    if cfg.transfer is not None:
        if parallel is not None:
            raise ConfigError("runs with a [transfer] section (staged fine-tuning) cannot run under torchrun yet")
        model, spec, splits, reused = start_from_saved(cfg.transfer.source, spec, splits, reuse=cfg.transfer.reuse)
    warn_if_not_self_normalizing(model, spec, splits, cfg)
    callbacks: list[Callback] = [*extra_callbacks, *run_callbacks(cfg, splits, quiet=quiet)]
    new_dir = save and run_dir is None
    if new_dir and main:  # only now: data and model are valid, so a refused input leaves no directory behind
        run_dir = create_run_dir(cfg.out, cfg.name)
    if save and parallel is not None:
        run_dir = parallel.broadcast_path(run_dir, device)  # rank 0's, which the other ranks read to resume
    try:
        if save and main:
            write_text_atomic(run_dir / "config.toml", to_toml(cfg))
            if isinstance(spec, FactorySpec):  # now, so that a run killed before its end can resume
                spec = save_source(spec, run_dir)
            callbacks += tracking_callbacks(cfg, run_dir, callbacks)
            callbacks.append(Checkpoint(run_dir / "checkpoint", every_epochs=t.checkpoint_every,
                                        history_csv=run_dir / "history.csv",
                                        meta={"config": to_toml(cfg), "provenance": origin}))
        streamed = should_stream(splits.train, device, stream_option(t))
        device_splits = splits if streamed else splits.to(device)  # streamed: batches go to the device one by one
        start = time.perf_counter()
        if cfg.transfer is None:
            trainer = build_trainer(cfg, model, device_splits, device, callbacks, parallel=parallel, stream=streamed)
            if state is not None:
                load_resume_state(trainer, state, run_dir)
            trainer.fit(device_splits.train, device_splits.valid, epochs=t.epochs, verbose=0)
        else:
            trainer = fit_staged(cfg, model, device_splits, device, callbacks, reused)
    except DeepfitError:
        if new_dir and main and not (run_dir / "checkpoint").exists():  # nothing trained: the directory would mislead
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    except KeyboardInterrupt:
        if not (save and main):
            raise
        epoch = checkpoint_epoch(run_dir / "checkpoint")
        if new_dir and epoch is None:  # stopped before an epoch ended (while compiling, say): nothing to keep
            shutil.rmtree(run_dir, ignore_errors=True)
        raise RunInterrupted(run_dir, epoch, cannot_resume=_STAGED_NOT_RESUMABLE if cfg.transfer is not None else "",
                             removed=new_dir and epoch is None) from None
    final = FinalPass(trainer, device_splits)  # each split through the network once, for every figure below
    (metrics,) = final_metrics(trainer, device_splits, final)
    metrics["fit_time_s"] = time.perf_counter() - start
    metrics.update(**origin, seed=t.seed)
    metrics["device"] = str(device)
    metrics["threads"] = threads
    if splits.valid_split is not None:
        metrics["validation_split"] = splits.valid_split.record()  # method, sizes, class counts
    if parallel is not None:
        metrics["world_size"] = parallel.world
    if save and main:
        if (tracked := mlflow_run(callbacks)) is not None:
            metrics["mlflow"] = tracked
        write_run_files(run_dir, trainer, spec, splits, metrics, final=final)
        log_final_metrics(callbacks, metrics)
        log_run_files(callbacks, run_dir)
    return RunResult(cfg, trainer.history, metrics, run_dir if main else None, trainer, splits, main=main,
                     final=final)


def read_resume_state(run_dir: Path, cfg: RunConfig, *, tidy: bool = True) -> dict[str, Any]:
    """The checkpoint of `run_dir`, once checked against `cfg` (its config.toml now); with `tidy` (False on
    the ranks of a data-parallel run other than 0), stale temporary files of a killed writer are removed first.

    Raises:
        CheckpointError: no epoch had finished (no checkpoint), or a setting that shapes what the checkpoint
            holds differs from the one it was written with (the message names the checkpoint and the keys).
    """
    directory = run_dir / "checkpoint"
    if tidy:
        remove_stale_temporaries(run_dir)
    if not directory.is_dir() or not any(p.is_file() for p in directory.iterdir()):
        raise CheckpointError(
            f"--resume {run_dir}: no epoch had finished when the run stopped, so there is no checkpoint to continue "
            f"from; start it again with `deepfit train --config {run_dir / 'config.toml'}`"
        )
    state = read_checkpoint(directory)
    saved = state.get("callbacks", {}).get("Checkpoint", {}).get("meta", {}).get("config")
    if isinstance(saved, str):
        changed = config_changes(tomllib.loads(saved), to_dict(cfg))
        if changed:
            raise CheckpointError(
                f"--resume: the checkpoint {directory} was written with {'; '.join(changed)}; put "
                f"{run_dir / 'config.toml'} back, or start a new run without --resume"
            )
    return state


# Settings a resumed run may change: where it runs and for how long, not what the checkpoint holds.
RESUMABLE_CHANGES = ("name", "out", "train.epochs", "train.device", "train.threads", "train.engine",
                     "train.eval_batch_size", "train.checkpoint_every", "train.probe_every", "train.diagnose",
                     "train.tensorboard", "train.mlflow", "train.log_format")


# Settings `resolved_config` writes in: left unset ("auto"), they resolve to the same value again.
RESOLVED_SETTINGS = ("data.valid", "data.test", "data.split")


def config_changes(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """`key = saved value, config.toml now says current value` for each dotted key that differs between two
    configs (as `to_dict` writes them), except `RESUMABLE_CHANGES` and `RESOLVED_SETTINGS` unset in either."""
    a, b = flat_config(saved), flat_config(current)
    missing = object()
    return [f"{key} = {_show(a.get(key, missing))}, but config.toml now says {_show(b.get(key, missing))}"
            for key in sorted(a.keys() | b.keys())
            if a.get(key, missing) != b.get(key, missing) and key not in RESUMABLE_CHANGES
            and not (key in RESOLVED_SETTINGS and (key not in a or key not in b))]


def _show(value: Any) -> str:
    return "(unset)" if not isinstance(value, str | int | float | bool | list | dict) else repr(value)


def load_resume_state(trainer: Trainer, state: dict[str, Any], run_dir: Path) -> None:
    """Put a checkpoint's state into `trainer`; a mismatch names the checkpoint it came from."""
    try:
        trainer.load_state_dict(state)
    except CheckpointError as exc:
        raise CheckpointError(f"--resume: the checkpoint {run_dir / 'checkpoint'}: {exc}") from None


def resolved_config(cfg: RunConfig, splits: Splits) -> RunConfig:
    """`cfg` with the settings the data resolved written in (an automatic `data.valid` or `data.test` becomes
    the count chosen, `data.split` the method used), so the run's config.toml says what ran and a resume
    repeats it."""
    v = splits.valid_split
    if v is None:
        return cfg
    resolved = {"valid": v.setting, "split": v.method, **({} if v.test_setting is None else {"test": v.test_setting})}
    return cfg.model_copy(update={"data": cfg.data.model_copy(update=resolved)})


def warn_if_not_self_normalizing(
    model: torch.nn.Module, spec: ModelSpec | FactorySpec, splits: Splits, cfg: RunConfig
) -> None:
    """Warn once, before training, when a SELU network breaks a condition of self-normalization."""
    if not any(isinstance(m, torch.nn.SELU) for m in model.modules()):
        return
    broken = self_normalization_violations(model, spec, splits, cfg)
    if broken:
        lines = "; ".join(f"{b.condition} ({b.found}): {b.fix}" for b in broken)
        warnings.warn(f"this SELU network will not self-normalize: {lines}", UserWarning, stacklevel=2)


def self_normalization_violations(
    model: torch.nn.Module, spec: ModelSpec | FactorySpec, splits: Splits, cfg: RunConfig
) -> list[Violation]:
    """The self-normalization conditions the run breaks, with fixes that apply to its config.

    The inputs are measured only when `data.standardize` is false, the one case its fix applies to. A
    split standardised with its own statistics has mean 0 and std 1 in each feature by construction
    (a constant feature becomes 0, which lowers the overall std without harming the network), and a
    transfer run's inputs are scaled with the source model's statistics on purpose, since its reused
    layers were trained on inputs scaled that way.
    """
    reg = cfg.regularization
    penalized = reg.penalty is not None or any(v not in ("none", False) for v in reg.layers.values())
    measured = splits.mean is None and cfg.transfer is None
    data = splits.train.x[:4096] if measured else None
    named = spec if isinstance(spec, ModelSpec) else None  # a factory's initializers have no names to read
    return check_self_normalizing(model, data, spec=named, penalized=penalized)


def final_metrics(trainer: Trainer, splits: Splits, final: FinalPass | None = None) -> list[dict[str, Any]]:
    """Per member: loss/accuracy on each split in evaluation mode, the test confusion matrix, timing
    figures, the backend that ran, and how the member's training ended.

    The figures come from `final`'s one pass over each split (made here when not given)."""
    final = final or FinalPass(trainer, splits)
    scores = {name: s for name in ("train", "valid", "test") if (s := final.scores(name)) is not None}
    matrices = final.confusion("test")
    out = []
    for k, m in enumerate(trainer.members):
        metrics: dict[str, Any] = {"epochs": len(m.history), **{name: s[k] for name, s in scores.items()}}
        times = m.history["epoch_time_s"]
        metrics["seconds_per_epoch"] = sum(times) / len(times) if times else float("nan")
        metrics["engine"] = trainer.engine_used
        metrics["streamed"] = trainer.streamed
        es = next((c for c in m.callbacks.values() if isinstance(c, EarlyStopping)), None)
        if es is not None:
            metrics["monitor"] = es.monitor  # the metric whose best epoch `best_epoch` is
        if es is not None and es.best_epoch:
            metrics["best_epoch"] = es.best_epoch
        if es is not None and es.stopped_epoch:
            metrics["early_stopping"] = early_stopping_summary(es)
        metrics["stopped"] = m.status
        restored = es.best_epoch if es is not None and es.restore_best and es.best_weights is not None else None
        metrics["stop"] = stop_summary(m.status, len(m.history), metrics.get("early_stopping"), m.note, restored)
        metrics["samples"] = {name: len(data) for name in ("train", "valid", "test")
                              if (data := getattr(splits, name)) is not None}
        if m.diverged:
            metrics["diverged"] = m.diverged
            metrics["note"] = m.note
        if matrices is not None:
            metrics["confusion_matrix"] = matrices[k].tolist()
        out.append(metrics)
    return out


def early_stopping_summary(es: EarlyStopping) -> dict[str, Any]:
    """When early stopping fired and which epoch's weights the model holds (`restored_epoch`, or None when
    `restore_best` is off and the last epoch's weights stay)."""
    restored = es.best_epoch if es.restore_best and es.best_weights is not None else None
    return {"stopped_epoch": es.stopped_epoch, "monitor": es.monitor, "best_epoch": es.best_epoch,
            "best": es.best, "restored_epoch": restored}


def stop_summary(status: str, epochs: int, early_stopping: dict[str, Any] | None, note: str,
                 restored: int | None = None) -> dict[str, Any]:
    """Why training ended, for the report's header: `reason` is `completed` (every epoch ran),
    `early_stopping`, `diverged` or `stopped` (another callback); `epoch` is the last epoch trained and
    `restored_epoch` the one whose weights the model holds when early stopping put its best epoch back
    (it does so at the end of every run with `restore_best`, stopped early or not)."""
    if status == "diverged":
        return {"reason": "diverged", "epoch": epochs, "note": note}
    if early_stopping is not None:
        return {"reason": "early_stopping", "epoch": early_stopping["stopped_epoch"],
                "restored_epoch": early_stopping["restored_epoch"]}
    summary: dict[str, Any] = {"reason": "stopped" if status == "stopped" else "completed", "epoch": epochs}
    if status == "stopped":
        summary["note"] = note
    if restored is not None:
        summary["restored_epoch"] = restored
    return summary


def write_run_files(
    run_dir: Path, trainer: Trainer, spec: ModelSpec | FactorySpec, splits: Splits, metrics: dict[str, Any],
    member: int = 0, final: FinalPass | None = None,
) -> None:
    """history.csv, model.json + model.safetensors (with the standardisation), metrics.json and, for image
    inputs, the misclassified test samples the report shows (misclassified.safetensors), from `final`'s
    test predictions (a pass made here when not given)."""
    m = trainer.members[member]
    m.history.to_csv(run_dir / "history.csv")
    extra = {
        "task": trainer.objective.name,
        "class_names": splits.class_names,
        "label_values": splits.label_values,  # the original labels of renumbered classes, which predict writes
        "standardized": splits.mean is not None,
        "input_dtype": splits.input_dtype,  # what `deepfit export` takes by default
    }
    tensors = {"mean": splits.mean, "std": splits.std} if splits.mean is not None else None
    save_model(m.model, spec, run_dir, extra=extra, tensors=tensors)
    final = final or FinalPass(trainer, splits)
    predicted, losses = final.classes("test"), final.losses("test")  # (K, n) each
    if predicted is not None:
        save_misclassified(run_dir, predicted[member], splits, losses=losses[member])
    write_json(run_dir / "metrics.json", {**metrics, "versions": versions()})


def save_run(result: RunResult, directory: Path) -> Path:
    """Write a finished in-memory run (a study's or sweep's) as a run directory: config, history, model,
    metrics. Returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    write_text_atomic(directory / "config.toml", to_toml(result.config))
    spec = model_spec(result.config, result.splits)
    write_run_files(directory, result.trainer, spec, result.splits, result.metrics, result.member, result.final)
    return directory


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
