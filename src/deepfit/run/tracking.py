"""A run's links to the tools people track experiments with: TensorBoard event files in the run directory and
an MLflow run, as `train.tensorboard` and `train.mlflow` ask (docs/tracking.md)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deepfit.config import RunConfig, to_dict
from deepfit.errors import ConfigError
from deepfit.train import CALLBACKS, Callback, MLflow
from deepfit.train.callbacks.base import probes
from deepfit.train.callbacks.tracking import log_artifacts

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # file:, http:, sqlite:, databricks: (not a C:\ drive)


def flat_config(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config dict as dotted keys: `{"train": {"epochs": 5}}` -> `{"train.epochs": 5}`."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flat_config(v, key + "."))
        else:
            out[key] = v
    return out


def mlflow_uri(setting: bool | str) -> str:
    """The tracking URI `train.mlflow` names: true is `mlruns/` in the current directory (MLflow's own default
    place), a URI stays as written, and a directory becomes its `file:` URI."""
    if setting is True:
        return Path("mlruns").resolve().as_uri()
    if not isinstance(setting, str) or not setting.strip():
        raise ConfigError(f"train.mlflow: expected true, false, a tracking URI or a directory, got {setting!r}")
    return setting if _SCHEME.match(setting) else Path(setting).expanduser().resolve().as_uri()


def tracking_callbacks(cfg: RunConfig, run_dir: Path, others: Sequence[Callback] = ()) -> list[Callback]:
    """The TensorBoard and MLflow callbacks `cfg.train` asks for, writing for the run in `run_dir`.

    TensorBoard records gradient norms at the probe events only when one of `others` listens to them
    already (the doctor), since probing costs training time.
    """
    t, out = cfg.train, []
    if t.tensorboard:
        out.append(CALLBACKS.build("tensorboard", run_dir / "tensorboard", probes=any(probes(c) for c in others)))
    if t.mlflow is not False:
        params = {k: v for k, v in flat_config(to_dict(cfg)).items() if v is not None}
        out.append(CALLBACKS.build("mlflow", mlflow_uri(t.mlflow), run_name=run_dir.name, params=params))
    return out


def mlflow_run(callbacks: Sequence[Callback]) -> dict[str, str] | None:
    """Where the MLflow run among `callbacks` is (`tracking_uri`, `run_id`: metrics.json records it), or None."""
    tracker = _tracker(callbacks)
    return None if tracker is None else {"tracking_uri": tracker.tracking_uri, "run_id": tracker.run_id}


def log_final_metrics(callbacks: Sequence[Callback], metrics: dict[str, Any]) -> None:
    """The run's final figures per split (`test_acc`, `test_loss`, `valid_acc`, ... as the history names its
    columns) as metrics of the MLflow run among `callbacks`, at step = the last epoch, if there is one."""
    tracker = _tracker(callbacks)
    if tracker is None:
        return
    prefixes = {"train": "train_", "valid": "final_val_", "test": "test_"}
    final = {prefixes[split] + k: v for split in prefixes for k, v in metrics.get(split, {}).items()
             if isinstance(v, int | float) and not isinstance(v, bool)}
    tracker.log_metrics(final, step=int(metrics["epochs"]))


def log_run_files(callbacks: Sequence[Callback], run_dir: Path) -> None:
    """Add the files of `run_dir` to the artifacts of the MLflow run among `callbacks`, if there is one."""
    tracker = _tracker(callbacks)
    if tracker is not None:
        tracker.log_artifacts(run_dir)


def log_report_files(where: dict[str, str], run_dir: Path) -> None:
    """Add report.html, summary.txt and plots/, written after training, to the MLflow run `where`
    (metrics.json's "mlflow")."""
    log_artifacts(where["tracking_uri"], where["run_id"], run_dir / "report.html")
    log_artifacts(where["tracking_uri"], where["run_id"], run_dir / "summary.txt")
    log_artifacts(where["tracking_uri"], where["run_id"], run_dir / "plots", "plots")


def _tracker(callbacks: Sequence[Callback]) -> MLflow | None:
    return next((c for c in callbacks if isinstance(c, MLflow) and c.run_id is not None), None)
