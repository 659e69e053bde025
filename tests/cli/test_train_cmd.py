"""`deepfit train` through `main`: Ctrl-C says how to continue, a resumed run says so first, early stopping
says when it fired and whose weights the model holds."""

import csv
import json
import shlex

import numpy as np
import pytest
import torch
from rich.console import Console

import deepfit.run.training
from deepfit.cli.main import main
from deepfit.cli.train import prediction_table
from deepfit.train import Callback
from deepfit.train.checkpoint import checkpoint_epoch

BASE = ["--set", "model.hidden=[8]", "--set", "data.valid=100", "--quiet"]


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


class _CtrlCAfter(Callback):
    """Raises KeyboardInterrupt at the end of `epoch`, before that epoch's checkpoint (order 100) is written."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, view, logs) -> None:
        if logs["epoch"] == self.epoch:
            raise KeyboardInterrupt


@pytest.fixture
def ctrl_c_in_epoch(monkeypatch):
    """Every run started from now on is interrupted at the end of the given epoch."""
    def arm(epoch: int) -> None:
        real = deepfit.run.training.run_callbacks
        monkeypatch.setattr(deepfit.run.training, "run_callbacks",
                            lambda *a, **k: [*real(*a, **k), _CtrlCAfter(epoch)])
    return arm


def _epochs(run) -> list[int]:
    with (run / "history.csv").open() as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_ctrl_c_prints_the_resume_command_and_the_run_continues_with_it(tmp_path, capsys, blobs_npz, monkeypatch,
                                                                         ctrl_c_in_epoch):
    monkeypatch.chdir(tmp_path)
    ctrl_c_in_epoch(3)
    code, _, err = _run(capsys, "train", "--data", str(blobs_npz), "--out", "my runs", "--epochs", "4", *BASE)
    (run,) = (tmp_path / "my runs").iterdir()
    assert code == 130
    said = f"deepfit train: interrupted; the checkpoint after epoch 2 is in my runs/{run.name}. Continue with:"
    assert err.splitlines()[0] == said
    command = err.splitlines()[1].strip()
    assert command == f"deepfit train --resume 'my runs/{run.name}'"
    assert checkpoint_epoch(run / "checkpoint") == 2 and _epochs(run) == [1, 2]

    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    program, *argv = shlex.split(command)
    code, out, _ = _run(capsys, *argv)
    assert program == "deepfit" and code == 0
    assert out.splitlines()[0] == f"resuming my runs/{run.name} after epoch 2 of 4"
    assert _epochs(run) == [1, 2, 3, 4] and json.loads((run / "metrics.json").read_text())["epochs"] == 4


def test_ctrl_c_before_the_first_checkpoint_says_there_is_nothing_to_resume(tmp_path, capsys, blobs_npz,
                                                                            ctrl_c_in_epoch):
    ctrl_c_in_epoch(1)
    code, _, err = _run(capsys, "train", "--data", str(blobs_npz), "--out", str(tmp_path), "--epochs", "2", *BASE)
    assert code == 130 and "interrupted before the first checkpoint," in err and "nothing to resume" in err
    assert "--resume" not in err and "was removed. Start again with:" in err
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]  # the run directory is gone


@pytest.mark.parametrize("restore", [True, False])
def test_early_stopping_says_when_it_fired_and_whose_weights_were_kept(tmp_path, capsys, blobs_npz, restore):
    # min_delta 10: only the first epoch counts as an improvement, so with patience 2 it fires after epoch 3
    es = f"train.early_stopping={{patience = 2, min_delta = 10.0, restore_best = {str(restore).lower()}}}"
    code, out, _ = _run(capsys, "train", "--data", str(blobs_npz), "--out", str(tmp_path / "runs"), "--epochs", "8",
                        "--set", es, *BASE)
    (run,) = (tmp_path / "runs").iterdir()
    metrics = json.loads((run / "metrics.json").read_text())
    with (run / "history.csv").open() as f:
        val_loss = [float(row["val_loss"]) for row in csv.DictReader(f)]
    assert code == 0 and metrics["epochs"] == 3
    said = "early stopping after epoch 3: val_loss did not improve for 2 epoch(s); "
    if restore:
        assert said + f"restored the weights of epoch 1 (val_loss {val_loss[0]:.4g})" in out.splitlines()
        assert metrics["valid"]["loss"] == pytest.approx(val_loss[0], rel=1e-5)
    else:
        assert said + "kept the weights of epoch 3 (restore_best is off)" in out.splitlines()
        assert metrics["valid"]["loss"] == pytest.approx(val_loss[2], rel=1e-5)
    assert metrics["early_stopping"]["stopped_epoch"] == 3
    assert metrics["early_stopping"]["restored_epoch"] == (1 if restore else None)


def test_a_run_that_is_not_stopped_early_says_nothing_of_it(tmp_path, capsys, blobs_npz):
    code, out, _ = _run(capsys, "train", "--data", str(blobs_npz), "--out", str(tmp_path / "runs"), "--epochs", "2",
                        *BASE)
    (run,) = (tmp_path / "runs").iterdir()
    assert code == 0 and "early stopping" not in out
    assert "early_stopping" not in json.loads((run / "metrics.json").read_text())


def test_train_prints_the_model_summary_first_and_saves_it_unless_quiet(tmp_path, capsys, blobs_npz):
    common = ["train", "--data", str(blobs_npz), "--epochs", "1", "--set", "model.hidden=[8]"]
    assert main([*common, "--out", str(tmp_path / "loud")]) == 0
    out = capsys.readouterr().out
    assert out.index("total params: 131  trainable: 131  frozen: 0") < out.index("run directory:")
    (run,) = (tmp_path / "loud").iterdir()
    assert "total params: 131  trainable: 131  frozen: 0" in (run / "summary.txt").read_text()

    assert main([*common, "--out", str(tmp_path / "quiet"), "--quiet"]) == 0
    assert "total params" not in capsys.readouterr().out
    (run,) = (tmp_path / "quiet").iterdir()
    assert "hidden1.linear" in (run / "summary.txt").read_text()


def test_predict_prints_a_column_per_class_under_its_name(tmp_path, capsys, blobs_npz):
    assert main(["train", "--data", str(blobs_npz), "--out", str(tmp_path / "runs"), "--epochs", "2", "--quiet",
                 "--set", "model.hidden=[8]"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    capsys.readouterr()
    np.savez(tmp_path / "in.npz", x=np.load(blobs_npz)["x_test"][:3])
    assert main(["predict", str(run), "--input", str(tmp_path / "in.npz")]) == 0
    header, *rows = [line.split() for line in capsys.readouterr().out.strip().splitlines()]
    assert header == ["predicted", "class", "0", "class", "1", "class", "2"]
    assert len(rows) == 3
    for row in rows:  # "class k" then three probabilities, the largest in column k
        probs = [float(p) for p in row[2:]]
        assert row[0] == "class" and int(row[1]) == probs.index(max(probs)) and abs(sum(probs) - 1) < 0.01


def test_prediction_table_names_classes_and_the_binary_columns():
    def text(table):
        console = Console(record=True, width=100)
        console.print(table)
        return console.export_text().split()

    assert text(prediction_table(torch.tensor([[0.1, 0.9]]), ["cat", "dog"], "multiclass")) == [
        "predicted", "cat", "dog", "dog", "0.100", "0.900"]
    binary = prediction_table(torch.tensor([0.2]), ["no", "yes"], "binary")
    assert text(binary) == ["predicted", "p(yes)", "no", "0.200"]
    assert text(prediction_table(torch.tensor([[3.25]]), None, "regression")) == ["prediction", "3.25"]
