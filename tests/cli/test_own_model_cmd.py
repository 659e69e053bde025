"""`deepfit train --model FILE.py:build` and `model.factory`: a run directory like a built-in model's, with the
factory's source copied into it; predict, evaluate and --resume rebuild the network from that copy."""

from __future__ import annotations

import json
import shlex
import textwrap

import numpy as np
import pytest
import torch

import deepfit.run.training
from deepfit.cli.main import main
from deepfit.train import Callback
from deepfit.train.checkpoint import checkpoint_epoch

CNN = '''
from torch import nn

def build(input_shape, num_outputs, width=4):
    c, h, w = input_shape
    return nn.Sequential(nn.Conv2d(c, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(width * (h // 2) * (w // 2), num_outputs))
'''


def _images(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 1, 8, 8) images of three classes: a bright top, middle or bottom band, plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(0, 0.3, size=(n, 1, 8, 8)).astype(np.float32)
    for k in range(3):
        x[y == k, :, 3 * k : 3 * k + 2, :] += 2.0
    return x, y


@pytest.fixture
def images_npz(tmp_path):
    x, y = _images()
    path = tmp_path / "bands.npz"
    np.savez(path, x_train=x[:200], y_train=y[:200], x_test=x[200:], y_test=y[200:])
    return path


@pytest.fixture
def cnn_file(tmp_path):
    path = tmp_path / "nets" / "cnn.py"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(CNN))
    return path


BASE = ["--set", "data.valid=40", "--set", "train.engine=eager", "--quiet", "--set", "train.threads=1"]


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _train(capsys, tmp_path, images_npz, *extra):
    code, out, err = _run(capsys, "train", "--data", str(images_npz), "--out", str(tmp_path / "runs"), *BASE, *extra)
    runs = sorted((tmp_path / "runs").iterdir()) if (tmp_path / "runs").exists() else []
    return code, out, err, runs


def test_train_with_model_writes_a_run_that_predict_rebuilds_from_the_copied_source(
        tmp_path, capsys, images_npz, cnn_file, monkeypatch):
    code, out, err, (run,) = _train(capsys, tmp_path, images_npz, "--model", f"{cnn_file}:build", "--epochs", "3")
    assert code == 0, err
    assert (run / "model_source" / "cnn.py").read_text() == cnn_file.read_text()
    spec = json.loads((run / "model.json").read_text())["spec"]
    assert spec["factory"] == f"{cnn_file}:build" and spec["source"] == "model_source/cnn.py"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["acc"] > 0.8  # three bands: the conv net learns them in three epochs
    assert (run / "report.html").is_file()

    cnn_file.unlink()  # predicting needs only the run directory
    x, y = _images(30, seed=1)
    np.save(tmp_path / "new.npy", x)
    code, out, err = _run(capsys, "predict", str(run), "--input", str(tmp_path / "new.npy"),
                          "--output", str(tmp_path / "pred.npz"))
    assert code == 0, err
    with np.load(tmp_path / "pred.npz") as f:
        assert (f["predictions"] == y).mean() > 0.8
    code, out, _ = _run(capsys, "evaluate", str(run))
    assert code == 0 and out.startswith(f"test: loss {metrics['test']['loss']:.4f}  acc {metrics['test']['acc']:.4f}")


def test_a_factory_in_the_config_file_takes_its_options(tmp_path, capsys, images_npz, cnn_file):
    config = tmp_path / "cnn.toml"
    config.write_text(f'[model]\nfactory = "{cnn_file}:build"\noptions = {{ width = 3 }}\n[train]\nepochs = 1\n')
    code, _, err, (run,) = _train(capsys, tmp_path, images_npz, "--config", str(config))
    assert code == 0, err
    assert json.loads((run / "model.json").read_text())["spec"]["options"] == {"width": 3}
    assert "model.factory" not in err


class _CtrlCAfter(Callback):
    def on_epoch_end(self, view, logs) -> None:
        if logs["epoch"] == 3:
            raise KeyboardInterrupt


def test_an_interrupted_factory_run_resumes_from_its_copy_to_the_same_weights(
        tmp_path, capsys, images_npz, cnn_file, monkeypatch):
    code, _, err, (whole,) = _train(capsys, tmp_path / "a", images_npz, "--model", f"{cnn_file}:build",
                                    "--epochs", "4")
    assert code == 0, err
    real = deepfit.run.training.run_callbacks
    monkeypatch.setattr(deepfit.run.training, "run_callbacks", lambda *a, **k: [*real(*a, **k), _CtrlCAfter()])
    code, _, err, (run,) = _train(capsys, tmp_path / "b", images_npz, "--model", f"{cnn_file}:build",
                                  "--epochs", "4")
    assert code == 130 and checkpoint_epoch(run / "checkpoint") == 2
    monkeypatch.undo()
    cnn_file.unlink()  # the resumed run rebuilds the network from the run's copy
    _, *argv = shlex.split(err.splitlines()[1].strip())
    code, _, err = _run(capsys, *argv)
    assert code == 0, err
    a = json.loads((whole / "metrics.json").read_text())
    b = json.loads((run / "metrics.json").read_text())
    assert b["epochs"] == 4 and b["test"]["loss"] == pytest.approx(a["test"]["loss"], rel=1e-5)


def test_model_replaces_the_default_presets_dense_network(tmp_path, capsys, images_npz, cnn_file):
    code, _, err, (run,) = _train(capsys, tmp_path, images_npz, "--model", f"{cnn_file}:build", "--epochs", "1")
    assert code == 0, err
    text = (run / "config.toml").read_text()
    assert "hidden" not in text and f'factory = "{cnn_file}:build"' in text


@pytest.mark.parametrize(("model", "extra", "message"), [
    ("{dir}/absent.py:build", [], "file {dir}/absent.py not found; expected a Python file defining the factory"),
    ("{cnn}:buld", [], "has no function 'buld'; did you mean 'build'?"),
    ("{cnn}:build", ["--set", "model.hidden=[8]"],
     "the dense-network keys model.hidden do not apply; remove them"),
    ("{cnn}:build", ["--set", "model.options={depth=2}"],
     "build(input_shape=(1, 8, 8), num_outputs=3, depth=2) failed: TypeError"),
])
def test_bad_factory_runs_exit_2_with_one_line_and_leave_no_directory(
        tmp_path, capsys, images_npz, cnn_file, model, extra, message):
    ref = model.format(dir=tmp_path, cnn=cnn_file)
    code, _, err, runs = _train(capsys, tmp_path, images_npz, "--model", ref, *extra)
    assert code == 2 and runs == []
    assert err.startswith("deepfit train: error: ") and message.format(dir=tmp_path) in err
    assert len(err.strip().splitlines()) == 1


def test_a_network_with_the_wrong_number_of_outputs_is_refused_before_training(tmp_path, capsys, images_npz):
    path = tmp_path / "five.py"
    path.write_text("from torch import nn\n\ndef build(input_shape, num_outputs):\n"
                    "    return nn.Sequential(nn.Flatten(), nn.Linear(64, 5))\n")
    code, _, err, runs = _train(capsys, tmp_path, images_npz, "--model", f"{path}:build")
    assert code == 2 and runs == []
    assert "the model returns shape (2, 5), expected (2, 3): one output per class" in err


def test_transfer_from_a_factory_run_is_refused_by_name(tmp_path, capsys, images_npz, cnn_file):
    code, _, _, (run,) = _train(capsys, tmp_path, images_npz, "--model", f"{cnn_file}:build", "--epochs", "1")
    code, _, err = _run(capsys, "transfer", "--from", str(run), "--data", str(images_npz),
                        "--out", str(tmp_path / "t"), *BASE)
    assert code == 2
    assert f"its model was built by model.factory '{cnn_file}:build'; transfer reuses the hidden layers" in err


def test_a_grouped_sweep_of_a_factory_model_is_refused_with_the_way_out(tmp_path, capsys, images_npz, cnn_file):
    code, _, err = _run(capsys, "sweep", "--data", str(images_npz), "--model", f"{cnn_file}:build",
                        "--grid", "optimizer.lr=1e-3,3e-3", "--out", str(tmp_path / "s"), "--epochs", "1", *BASE)
    assert code == 2
    assert 'one run at a time, not as members of one group; set sweep.engine = "sequential"' in err
    code, _, err = _run(capsys, "sweep", "--data", str(images_npz), "--model", f"{cnn_file}:build", "--engine",
                        "sequential", "--grid", "optimizer.lr=1e-3,3e-3", "--out", str(tmp_path / "s"),
                        "--epochs", "1", *BASE)
    assert code == 0, err


def test_a_factory_model_trains_on_the_compiled_step_as_eagerly(tmp_path, images_npz, cnn_file):
    from deepfit.config import config_from_dict
    from deepfit.run import run_training

    def run(engine):
        cfg = config_from_dict({"data": {"name": "npz", "path": str(images_npz), "valid": 40, "subset": 64},
                                "model": {"factory": f"{cnn_file}:build"},
                                "train": {"epochs": 1, "engine": engine, "threads": 1, "batch_size": 32}})
        return run_training(cfg, save=False)

    eager, compiled = run("eager"), run("compile")
    assert compiled.metrics["engine"] == "compile"
    assert torch.allclose(compiled.model[0].weight, eager.model[0].weight, atol=1e-5)


def test_an_exported_factory_model_gives_the_predictions_of_predict(tmp_path, capsys, images_npz, cnn_file):
    import onnxruntime

    code, _, err, (run,) = _train(capsys, tmp_path, images_npz, "--model", f"{cnn_file}:build", "--epochs", "1")
    assert code == 0, err
    x, _ = _images(16, seed=2)
    np.save(tmp_path / "x.npy", x)
    code, _, err = _run(capsys, "predict", str(run), "--input", str(tmp_path / "x.npy"),
                        "--output", str(tmp_path / "p.npz"))
    assert code == 0, err
    code, _, err = _run(capsys, "export", str(run), "--format", "onnx")
    assert code == 0, err
    session = onnxruntime.InferenceSession(str(run / "model.onnx"))
    (probs,) = session.run(None, {session.get_inputs()[0].name: x})
    with np.load(tmp_path / "p.npz") as f:
        np.testing.assert_allclose(probs, f["probabilities"], atol=1e-5)


def test_the_doctor_refuses_a_factory_model_by_name(tmp_path, capsys, images_npz, cnn_file):
    code, _, err = _run(capsys, "doctor", "--data", str(images_npz), "--model", f"{cnn_file}:build",
                        "--out", str(tmp_path / "d"), "--quiet")
    assert code == 2
    assert f"the doctor works on deepfit's dense network, but model.factory = '{cnn_file}:build' builds your own" in err
