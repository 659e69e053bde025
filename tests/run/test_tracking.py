import csv
import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from deepfit.cli.main import main
from deepfit.config import load_config
from deepfit.diagnose.stats import DoctorProbe
from deepfit.errors import ConfigError
from deepfit.run.tracking import flat_config, mlflow_uri, tracking_callbacks
from deepfit.train import EarlyStopping, MLflow
from deepfit.train.callbacks import ProbedTensorBoard, TensorBoard


def test_train_with_tensorboard_and_mlflow_writes_events_equal_to_history_and_an_mlflow_run(tmp_path, blobs_npz):
    store = tmp_path / "store"
    code = main(["train", "--data", str(blobs_npz), "--out", str(tmp_path / "runs"), "--epochs", "3", "--quiet",
                 "--set", "model.hidden=[8]", "--set", "data.valid=100", "--tensorboard", "--mlflow", str(store)])
    assert code == 0
    (run,) = (tmp_path / "runs").iterdir()
    with (run / "history.csv").open() as f:
        rows = list(csv.DictReader(f))

    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    for key in ("loss", "acc", "val_loss", "val_acc", "lr"):
        assert [e.value for e in events.Scalars(key)] == pytest.approx([float(r[key]) for r in rows], rel=1e-6)
    assert "weights/output.weight" in events.Tags()["histograms"]

    where = json.loads((run / "metrics.json").read_text())["mlflow"]
    assert where["tracking_uri"] == store.resolve().as_uri()
    client = MlflowClient(tracking_uri=where["tracking_uri"])
    mlrun = client.get_run(where["run_id"])
    assert mlrun.info.run_name == run.name and mlrun.info.status == "FINISHED"
    assert mlrun.data.params["train.epochs"] == "3" and mlrun.data.params["model.hidden"] == "[8]"
    assert [m.value for m in client.get_metric_history(where["run_id"], "val_acc")] == pytest.approx(
        [float(r["val_acc"]) for r in rows])
    final = json.loads((run / "metrics.json").read_text())
    (test_acc,) = client.get_metric_history(where["run_id"], "test_acc")  # after training, at the last epoch
    assert (test_acc.value, test_acc.step) == (pytest.approx(final["test"]["acc"]), 3)
    assert mlrun.data.metrics["test_loss"] == pytest.approx(final["test"]["loss"])
    artifacts = {a.path for a in client.list_artifacts(where["run_id"])}
    assert {"config.toml", "history.csv", "metrics.json", "model.safetensors", "report.html", "plots"} <= artifacts
    logged = Path(client.download_artifacts(where["run_id"], "history.csv", str(tmp_path / "down")))
    assert logged.read_text() == (run / "history.csv").read_text()


def test_mlflow_true_is_mlruns_in_the_current_directory_and_a_uri_stays(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert mlflow_uri(True) == (tmp_path / "mlruns").as_uri()
    assert mlflow_uri("sqlite:///mlflow.db") == "sqlite:///mlflow.db"
    assert mlflow_uri("elsewhere") == (tmp_path / "elsewhere").as_uri()
    with pytest.raises(ConfigError, match=r"train\.mlflow: expected true, false, a tracking URI or a directory, got"):
        mlflow_uri("")


def test_flat_config_joins_nested_keys_with_dots():
    assert flat_config({"train": {"epochs": 3, "early_stopping": {"patience": 2}}, "name": "x", "empty": {}}) == {
        "train.epochs": 3, "train.early_stopping.patience": 2, "name": "x", "empty": {}}


def test_tensorboard_records_gradient_norms_only_when_the_run_probes_anyway(tmp_path):
    cfg = load_config(None, ["train.tensorboard=true", f"train.mlflow={json.dumps(str(tmp_path / 'ml'))}"])
    (plain, tracker) = tracking_callbacks(cfg, tmp_path / "run", [EarlyStopping()])
    assert type(plain) is TensorBoard and plain.log_dir == tmp_path / "run" / "tensorboard"
    assert isinstance(tracker, MLflow) and tracker.run_name == "run"
    assert tracker.params["train.tensorboard"] is True and tracker.tracking_uri == (tmp_path / "ml").as_uri()
    (probed, _) = tracking_callbacks(cfg, tmp_path / "run", [DoctorProbe()])
    assert type(probed) is ProbedTensorBoard
    assert tracking_callbacks(load_config(None, []), tmp_path / "run") == []
