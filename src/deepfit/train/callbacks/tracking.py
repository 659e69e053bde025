"""MLflow tracking: the run's parameters when fitting begins, each epoch's figures, and on request its files.

It talks to MLflow through `MlflowClient` with an explicit tracking URI, never through MLflow's global
active run, so two Trainers in one process cannot log into each other's runs.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from deepfit.errors import ConfigError, MissingDependencyError
from deepfit.train.callbacks.base import CALLBACKS, Callback, FitView, Logs

_PARAM_LIMIT = 6000  # characters MLflow stores of a parameter value


def _client(tracking_uri: str) -> Any:
    """An `MlflowClient` for `tracking_uri`. A `file:` store is MLflow's local format, in maintenance mode since
    MLflow 3.7 and refused unless MLFLOW_ALLOW_FILE_STORE is true: it is set here unless the user set it, as
    is MLFLOW_DISABLE_TELEMETRY, so that logging a run never reaches a network by itself."""
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise MissingDependencyError("train.mlflow needs MLflow: pip install 'deepfit[mlflow]'") from None
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if tracking_uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return MlflowClient(tracking_uri=tracking_uri)


def log_artifacts(tracking_uri: str, run_id: str, path: str | Path, artifact_path: str | None = None) -> None:
    """Copy the file or directory `path` into the artifacts of MLflow run `run_id` (under `artifact_path`)."""
    client, path = _client(tracking_uri), Path(path)
    if path.is_dir():
        client.log_artifacts(run_id, str(path), artifact_path)
    elif path.is_file():
        client.log_artifact(run_id, str(path), artifact_path)


@CALLBACKS.register("mlflow", summary="MLflow: params, per-epoch metrics and the run directory, to a local "
                    "mlruns/ store by default")
class MLflow(Callback):
    """Log `params` (a flat `{"train.epochs": 20, ...}`) into a new MLflow run of `experiment` when fitting
    begins, every numeric figure of each epoch's row as a metric at step = epoch, and end the run when fitting
    ends: FINISHED, or KILLED when the fit stopped before its epochs without a callback stopping it (an
    exception or Ctrl-C). `log_artifacts(directory)` adds files afterwards (the run layer adds the run
    directory once it is written). One model per Trainer.

    Raises:
        MissingDependencyError: MLflow is not installed (on the first event).
        ConfigError: MLflow refuses the tracking URI or the experiment.
    """

    order = 85

    def __init__(self, tracking_uri: str, *, experiment: str = "deepfit", run_name: str | None = None,
                 params: dict[str, Any] | None = None) -> None:
        self.tracking_uri, self.experiment, self.run_name = tracking_uri, experiment, run_name
        self.params = dict(params or {})
        self.run_id: str | None = None
        self._client: Any = None

    def on_fit_begin(self, view: FitView, logs: Logs) -> None:
        from mlflow.entities import Param

        try:
            client = self._client = _client(self.tracking_uri)
            found = client.get_experiment_by_name(self.experiment)
            experiment_id = found.experiment_id if found is not None else client.create_experiment(self.experiment)
            self.run_id = client.create_run(experiment_id, run_name=self.run_name).info.run_id
        except MissingDependencyError:
            raise
        except Exception as exc:  # MlflowException and the store's OSErrors: the user's URI is the cause
            raise ConfigError(f"train.mlflow: MLflow cannot log to {self.tracking_uri!r}: {exc}") from None
        params = [Param(k, str(v)[:_PARAM_LIMIT]) for k, v in self.params.items()]
        for start in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            client.log_batch(self.run_id, params=params[start : start + 100])

    def on_epoch_end(self, view: FitView, logs: Logs) -> None:
        from mlflow.entities import Metric

        now, epoch = int(time.time() * 1000), int(logs["epoch"])
        metrics = [Metric(k, float(v), now, epoch) for k, v in logs.items()
                   if k != "epoch" and isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)]
        self._client.log_batch(self.run_id, metrics=metrics)

    def on_fit_end(self, view: FitView, logs: Logs) -> None:
        if self.run_id is None:
            return
        completed = view.epoch >= view.epochs or view.stop_training
        self._client.set_terminated(self.run_id, "FINISHED" if completed else "KILLED")

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """Log figures known only after fitting (the test split's, `test_acc`) at `step`; MLflow takes metrics
        for a finished run as long as it is not deleted."""
        from mlflow.entities import Metric

        if self.run_id is None:
            return
        now = int(time.time() * 1000)
        self._client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in metrics.items()
                                                     if math.isfinite(v)])

    def log_artifacts(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Add the file or directory `path` to this run's artifacts (after fitting, when the run's files exist)."""
        if self.run_id is not None:
            log_artifacts(self.tracking_uri, self.run_id, path, artifact_path)
