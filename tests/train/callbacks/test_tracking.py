import pytest
from mlflow.tracking import MlflowClient

from deepfit.errors import ConfigError
from deepfit.train import CALLBACKS, Callback, MLflow


def test_mlflow_logs_params_every_epochs_figures_and_artifacts_to_a_file_store(tmp_path, fit_blobs):
    uri = (tmp_path / "mlruns").as_uri()
    tracker = CALLBACKS.build("mlflow", uri, run_name="blobs", params={"train.epochs": 3, "model.hidden": [8]})
    _, history = fit_blobs([tracker])
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "history.csv").write_text("epoch\n1\n")
    tracker.log_artifacts(tmp_path / "run")

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(tracker.run_id)
    assert run.info.run_name == "blobs" and run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "deepfit"
    assert run.data.params == {"train.epochs": "3", "model.hidden": "[8]"}
    for key in ("loss", "acc", "val_loss", "val_acc", "lr"):
        logged = client.get_metric_history(tracker.run_id, key)
        assert [m.step for m in logged] == [1, 2, 3]
        assert [m.value for m in logged] == pytest.approx(history[key])
    assert [a.path for a in client.list_artifacts(tracker.run_id)] == ["history.csv"]


class _Boom(Callback):
    def on_epoch_end(self, view, logs):
        if logs["epoch"] == 2:
            raise RuntimeError("boom")


def test_mlflow_marks_a_fit_that_raised_as_killed(tmp_path, fit_blobs):
    uri = (tmp_path / "mlruns").as_uri()
    tracker = MLflow(uri)
    with pytest.raises(RuntimeError, match="boom"):
        fit_blobs([tracker, _Boom()])
    client = MlflowClient(tracking_uri=uri)
    assert client.get_run(tracker.run_id).info.status == "KILLED"
    assert len(client.get_metric_history(tracker.run_id, "loss")) == 1  # the epoch logged before _Boom's


def test_mlflow_names_the_uri_it_cannot_log_to(tmp_path, fit_blobs):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"train.mlflow: MLflow cannot log to 'file:.*file/mlruns'"):
        fit_blobs([MLflow((blocker / "mlruns").as_uri())])
