import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from deepfit.cli.main import main
from deepfit.errors import CheckpointError
from deepfit.train.checkpoint import read_checkpoint


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


def test_killed_run_resumes_to_identical_weights(tmp_path):
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
        if dirs and (dirs[0] / "checkpoint" / "state.pt").exists():
            state = dirs[0] / "checkpoint" / "state.pt"
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

    assert main(["train", "--resume", str(killed_dir), "--quiet"]) == 0
    a, b = load_file(full_dir / "model.safetensors"), load_file(killed_dir / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    assert (full_dir / "history.csv").read_text().count("\n") == (killed_dir / "history.csv").read_text().count("\n")


def test_damaged_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "checkpoint" / "state.pt").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CheckpointError, match="damaged checkpoint"):
        read_checkpoint(tmp_path / "checkpoint")
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        read_checkpoint(tmp_path / "nothing")
