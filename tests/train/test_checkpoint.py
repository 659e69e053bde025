import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

import deepfit.atomic
from deepfit.cli.main import main
from deepfit.errors import CheckpointError
from deepfit.train.checkpoint import checkpoint_epoch, read_checkpoint, save_checkpoint


def _dataset(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6000, 64)).astype(np.float32)
    y = (x[:, :10].argmax(1)).astype(np.int64)
    path = tmp_path / "d.npz"
    np.savez(path, x_train=x[:5000], y_train=y[:5000], x_test=x[5000:], y_test=y[5000:])
    return path


def _train_args(data: Path, out: Path, name: str) -> list[str]:
    return [
        "train",
        "--data",
        str(data),
        "--out",
        str(out),
        "--name",
        name,
        "--epochs",
        "8",
        "--quiet",
        "--set",
        "data.valid=500",
        "--set",
        "model.hidden=[256, 256, 128]",
        "--set",
        "train.seed=7",
        "--set",
        "model.dropout=0.2",
    ]


def test_killed_run_resumes_to_identical_weights_and_keeps_its_provenance(tmp_path, monkeypatch):
    data = _dataset(tmp_path)
    assert main(_train_args(data, tmp_path / "a", "full")) == 0
    (full_dir,) = (tmp_path / "a").iterdir()

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "deepfit", *_train_args(data, tmp_path / "b", "killed")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    state = None
    while time.time() < deadline and proc.poll() is None:
        dirs = list((tmp_path / "b").glob("killed-*"))
        if dirs and (dirs[0] / "checkpoint" / "state.json").exists():
            state = dirs[0] / "checkpoint" / "state.json"
            break
        time.sleep(0.05)
    assert state is not None, "the training process never wrote a checkpoint"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (killed_dir,) = (tmp_path / "b").iterdir()
    epoch_at_kill = read_checkpoint(killed_dir / "checkpoint")["epoch"]
    assert 1 <= epoch_at_kill < 8, "the kill should land mid-run"
    assert not (killed_dir / "model.safetensors").exists()
    rows_at_kill = (killed_dir / "history.csv").read_text().count("\n") - 1  # written before each checkpoint
    assert epoch_at_kill <= rows_at_kill <= epoch_at_kill + 1

    monkeypatch.setattr(sys, "argv", ["deepfit", "train", "--resume", str(killed_dir), "--quiet"])
    assert main(["train", "--resume", str(killed_dir), "--quiet"]) == 0
    metrics = json.loads((killed_dir / "metrics.json").read_text())
    assert metrics["command"].startswith("deepfit train --data") and "--name killed" in metrics["command"]
    (resumed,) = metrics["resumes"]
    assert resumed["command"] == f"deepfit train --resume {killed_dir} --quiet"
    assert (resumed["from_epoch"], resumed["previous"]) == (epoch_at_kill, "interrupted")
    assert metrics["started"] <= resumed["time"]  # the same format and zone: text order is time order
    report = (killed_dir / "report.html").read_text()
    assert f"after epoch {epoch_at_kill} (the previous process was interrupted)" in report
    assert "--name killed" in report
    a, b = load_file(full_dir / "model.safetensors"), load_file(killed_dir / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    assert (full_dir / "history.csv").read_text().count("\n") == (killed_dir / "history.csv").read_text().count("\n")


def _state(epoch: int) -> dict:
    """A state shaped like a trainer's: the required keys, tensors of several dtypes, a generator state."""
    g = torch.Generator().manual_seed(epoch)
    return {
        "format": 2, "epoch": epoch, "step": 10 * epoch, "stop_training": False,
        "group": {"tensors": {"trainable": torch.full((2, 5), float(epoch))}, "update": {"optimizer": "nadam"}},
        "rng": {"global": {"cpu": torch.get_rng_state()}, "generators": [g.get_state()]},
        "members": [{"history": [{"epoch": epoch, "loss": 0.5}],
                     "callbacks": {"EarlyStopping": {"best": float("inf")}}}],
    }


def test_checkpoint_round_trips_a_trainer_state(tmp_path):
    state = _state(3)
    save_checkpoint(state, tmp_path)
    back = read_checkpoint(tmp_path)
    assert torch.equal(back["group"]["tensors"]["trainable"], state["group"]["tensors"]["trainable"])
    assert torch.equal(back["rng"]["generators"][0], state["rng"]["generators"][0])
    assert back["members"] == state["members"] and back["epoch"] == 3
    assert checkpoint_epoch(tmp_path) == 3
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".safetensors"]


def test_checkpoint_files_are_json_and_safetensors_only(tmp_path):
    save_checkpoint(_state(1), tmp_path)
    manifest = json.loads((tmp_path / "state.json").read_text())
    tensors = load_file(tmp_path / manifest["tensors"])
    assert manifest["format"] == "deepfit.checkpoint"
    assert "/group/tensors/trainable" in tensors and "/rng/generators/0" in tensors


def test_legacy_pickle_checkpoint_is_refused_without_loading(tmp_path, monkeypatch):
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    (tmp_path / "state.pt").write_bytes(b"PK\x03\x04 an old checkpoint")
    with pytest.raises(CheckpointError, match=r"state.pt: written by an older deepfit .* start it again without"):
        read_checkpoint(tmp_path)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "state.json").write_bytes(b"\xff\xfe garbage"), "damaged checkpoint .*UnicodeDecodeError"),
        (lambda d: (d / "state.json").write_text("[1, 2]"), "not a deepfit checkpoint manifest"),
        (lambda d: next(d.glob("tensors-*")).write_bytes(b"x" * 64), "does not match the SHA-256"),
        (lambda d: next(d.glob("tensors-*")).unlink(), "damaged checkpoint .*cannot read tensors-"),
        (lambda d: (d / "state.json").write_text((d / "state.json").read_text().replace("tensors-", "../tensors-")),
         "does not name a tensor file"),
    ],
)
def test_damaged_checkpoint_is_a_clear_error(tmp_path, damage, message):
    save_checkpoint(_state(1), tmp_path)
    damage(tmp_path)
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(tmp_path)


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        read_checkpoint(tmp_path / "nothing")
    assert checkpoint_epoch(tmp_path / "nothing") is None


@pytest.mark.parametrize("failing_write", [1, 2], ids=["tensor file", "manifest"])
def test_interrupted_checkpoint_leaves_the_previous_pair_readable(tmp_path, monkeypatch, failing_write):
    save_checkpoint(_state(1), tmp_path)
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == failing_write:
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(deepfit.atomic.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(_state(2), tmp_path)
    monkeypatch.undo()
    assert read_checkpoint(tmp_path)["epoch"] == 1
    save_checkpoint(_state(3), tmp_path)  # the next checkpoint removes what the interrupted one left
    assert read_checkpoint(tmp_path)["epoch"] == 3
    assert len(list(tmp_path.iterdir())) == 2
