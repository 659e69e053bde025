"""Run directories: one per run even when runs start in the same second, and never a half-written file."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import make_blobs

import deepfit.atomic
import deepfit.run.rundir as rundir
import deepfit.run.training
from deepfit.atomic import write_text_atomic
from deepfit.cli.main import main
from deepfit.config import load_config
from deepfit.errors import OutputError
from deepfit.report.run_report import write_run_report
from deepfit.run import create_run_dir, model_spec, run_training, write_json
from deepfit.run.rundir import RunInterrupted
from deepfit.run.training import write_run_files
from deepfit.train.checkpoint import read_checkpoint, save_checkpoint

STAMP = "20260101-120000"


@pytest.fixture
def same_second(monkeypatch):
    """Every run starts in the same second."""
    monkeypatch.setattr(rundir.time, "strftime", lambda fmt: STAMP)


def test_runs_started_in_the_same_second_by_threads_get_their_own_directories(tmp_path, same_second):
    start, made = threading.Barrier(8), []

    def create() -> None:
        start.wait()
        made.append(create_run_dir(tmp_path, "run"))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p.name for p in made) == sorted([f"run-{STAMP}"] + [f"run-{STAMP}-{k}" for k in range(1, 8)])
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in made)


def test_runs_started_in_the_same_second_by_processes_get_their_own_directories(tmp_path):
    code = (
        "import sys, time, deepfit.run.rundir as r; "
        f"time.strftime = lambda fmt: {STAMP!r}; "
        "sys.stdin.readline(); print(r.create_run_dir(sys.argv[1], 'run'))"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate("go\n", timeout=120)[0].strip() for p in procs]  # both wait, then create at once
    assert sorted(Path(o).name for o in outputs) == [f"run-{STAMP}", f"run-{STAMP}-1"]


def test_two_trainings_into_the_same_out_in_the_same_second_write_two_whole_run_directories(
        tmp_path, blobs_npz, same_second):
    argv = ["train", "--data", str(blobs_npz), "--out", str(tmp_path / "runs"), "--name", "run", "--epochs", "1",
            "--set", "model.hidden=[8]", "--set", "data.valid=100", "--quiet"]
    assert main(argv) == 0 and main([*argv, "--set", "train.seed=7"]) == 0
    first, second = tmp_path / "runs" / f"run-{STAMP}", tmp_path / "runs" / f"run-{STAMP}-1"
    assert sorted((tmp_path / "runs").iterdir()) == [first, second]
    whole = {"config.toml", "history.csv", "metrics.json", "model.json", "model.safetensors", "report.html",
             "checkpoint/state.json", "plots/learning_curves.png"}
    assert whole <= set(_files(first)) and whole <= set(_files(second))
    assert "seed = 7" in (second / "config.toml").read_text() and "seed = 7" not in (first / "config.toml").read_text()


def test_an_existing_directory_is_never_reused(tmp_path, same_second):
    taken = tmp_path / f"run-{STAMP}"
    taken.mkdir()
    (taken / "history.csv").write_text("a previous run's\n")
    assert create_run_dir(tmp_path, "run").name == f"run-{STAMP}-1"
    assert (taken / "history.csv").read_text() == "a previous run's\n"


def test_every_name_taken_is_an_output_error(tmp_path, same_second, monkeypatch):
    monkeypatch.setattr(rundir, "_TRIES", 2)
    create_run_dir(tmp_path, "run")
    create_run_dir(tmp_path, "run")
    with pytest.raises(OutputError, match=f"run-{STAMP} to run-{STAMP}-1 exist already; choose another --name"):
        create_run_dir(tmp_path, "run")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, blobs_npz_module):
    cfg = load_config(None, ["data.name=npz", f"data.path={str(blobs_npz_module)!r}", "data.valid=100",
                             "train.epochs=2", "model.hidden=[8]", f"out={str(tmp_path_factory.mktemp('runs'))!r}"])
    result = run_training(cfg)
    write_run_report(result.run_dir)
    write_json(result.run_dir / "diagnosis.json", {"findings": []})
    return cfg, result


@pytest.fixture(scope="module")
def blobs_npz_module(tmp_path_factory):
    x, y = make_blobs(400)
    path = tmp_path_factory.mktemp("data") / "blobs.npz"
    np.savez(path, x_train=x, y_train=y)
    return path


def _files(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


WRITERS = {
    "history.csv, model.json, model.safetensors, metrics.json": lambda cfg, r: write_run_files(
        r.run_dir, r.trainer, model_spec(cfg, r.splits), r.splits, r.metrics),
    "plots/*.png, report.html": lambda cfg, r: write_run_report(r.run_dir),
    "checkpoint/": lambda cfg, r: save_checkpoint({**r.trainer.state_dict(), "epoch": 99}, r.run_dir / "checkpoint"),
    "config.toml": lambda cfg, r: run_training(cfg, run_dir=r.run_dir, resume=True),
    "diagnosis.json": lambda cfg, r: write_json(r.run_dir / "diagnosis.json", {"findings": ["new"]}),
    "history.csv": lambda cfg, r: r.trainer.history.to_csv(r.run_dir / "history.csv"),
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_writer_interrupted_before_its_rename_leaves_every_file_as_it_was(finished_run, monkeypatch, writer):
    cfg, result = finished_run
    before = _files(result.run_dir)
    assert {"config.toml", "history.csv", "metrics.json", "model.json", "model.safetensors", "report.html",
            "diagnosis.json", "checkpoint/state.json", "plots/learning_curves.png"} <= set(before)

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt  # as if Ctrl-C (or a crash) came after the bytes, before the rename

    monkeypatch.setattr(deepfit.atomic.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        WRITERS[writer](cfg, result)
    monkeypatch.undo()
    assert _files(result.run_dir) == before  # nothing half-written, no temporary file left behind
    assert read_checkpoint(result.run_dir / "checkpoint")["epoch"] == 2


def test_write_text_atomic_is_what_the_run_writes_its_config_with():
    assert rundir.write_text_atomic is write_text_atomic


@pytest.mark.parametrize(
    ("epoch", "cannot", "message"),
    [
        (3, "", "interrupted; the checkpoint after epoch 3 is in a run. Continue with:\n"
                "  deepfit train --resume 'a run'"),
        (None, "", "interrupted before the first checkpoint; a run holds nothing to resume"),
        (3, "staged runs cannot be resumed yet",
         "interrupted; a run cannot be resumed: staged runs cannot be resumed yet"),
    ],
)
def test_an_interrupted_run_says_how_to_continue_it_or_why_not(epoch, cannot, message):
    exc = RunInterrupted(Path("a run"), epoch, cannot_resume=cannot)
    assert isinstance(exc, KeyboardInterrupt) and str(exc) == message


def test_ctrl_c_before_the_first_checkpoint_removes_the_new_run_directory(finished_run, monkeypatch, tmp_path):
    cfg, _ = finished_run

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(deepfit.run.training.Trainer, "fit", ctrl_c)
    monkeypatch.setattr(sys, "argv", ["deepfit", "train", "--epochs", "2"])
    with pytest.raises(RunInterrupted) as info:
        run_training(cfg.model_copy(update={"out": str(tmp_path / "runs")}))
    assert not info.value.run_dir.exists() and not any((tmp_path / "runs").iterdir())
    assert str(info.value) == (f"interrupted before the first checkpoint, so {info.value.run_dir} held nothing to "
                               "resume and was removed. Start again with:\n  deepfit train --epochs 2")


def test_an_interrupted_run_without_a_directory_is_a_plain_keyboard_interrupt(finished_run, monkeypatch):
    cfg, _ = finished_run

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(deepfit.run.training.Trainer, "fit", ctrl_c)
    with pytest.raises(KeyboardInterrupt) as info:
        run_training(cfg, save=False)
    assert type(info.value) is KeyboardInterrupt


def test_every_file_of_a_run_directory_has_the_umasks_permissions(finished_run):
    _, result = finished_run
    umask = os.umask(0)
    os.umask(umask)
    modes = {str(p.relative_to(result.run_dir)): oct(p.stat().st_mode & 0o777)
             for p in result.run_dir.rglob("*") if p.is_file()}
    assert "model.safetensors" in modes and "checkpoint/state.json" in modes
    assert set(modes.values()) == {oct(0o666 & ~umask)}, modes


@pytest.mark.parametrize(("argv", "expected"), [
    (["/usr/bin/deepfit", "train", "--set", "model.hidden=[8, 8]"], "deepfit train --set 'model.hidden=[8, 8]'"),
    (["/x/site-packages/deepfit/__main__.py", "study", "reference"], "deepfit study reference"),
    (["/x/ipykernel_launcher.py", "-f", "/tmp/kernel-1.json", "--HistoryManager.hist_file=:memory:"],
     "Python in a Jupyter notebook"),
])
def test_command_line_reads_as_the_user_typed_it_and_names_a_notebook(monkeypatch, argv, expected):
    monkeypatch.setattr(sys, "argv", argv)
    assert rundir.command_line() == expected
