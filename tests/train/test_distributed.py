"""Data-parallel training: the shards' gradients against the whole batch's in one process, and two gloo
processes under torchrun against the single-process run, killed and resumed."""

from __future__ import annotations

import copy
import csv
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
from torch import nn

from deepfit.cli.main import main
from deepfit.data import TensorData
from deepfit.errors import ConfigError
from deepfit.nn import ModelSpec, build_model
from deepfit.train import UpdateRule, objective_for
from deepfit.train.checkpoint import read_checkpoint
from deepfit.train.distributed import DataParallel, joined, launched_world
from deepfit.train.engine import Group

TORCHRUN = Path(sys.executable).with_name("torchrun")
EPOCHS = 10


def _model(norm: str = "none") -> nn.Module:
    torch.manual_seed(0)
    return build_model(ModelSpec((6,), 3, hidden=[8], norm=norm, dropout=0.0))


def _last_batch_gradient(model: nn.Module, n: int, parallel: DataParallel | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradient (K, N) and statistics of the epoch's last, padded batch (global batch 8), as `parallel`'s
    rank computes them before any reduction."""
    g = torch.Generator().manual_seed(1)
    data = TensorData(torch.randn(n, 6, generator=g), torch.randint(0, 3, (n,), generator=g))
    rule = UpdateRule("sgd", {"lr": 0.1}, penalty={"name": "l2", "l2": 0.01})
    group = Group([copy.deepcopy(model)], objective_for("auto", "multiclass"), [rule], torch.device("cpu"),
                  parallel=parallel)
    group.start(data, 8, engine="eager")
    group.prepare_epoch([torch.Generator().manual_seed(2)], 0, group.order.steps)
    group.pos.fill_(group.order.steps - 1)
    total, stats = group.forward_loss(*group.order.batch(group.pos))
    grads = torch.autograd.grad(total, group.leaves)
    return torch.cat([gr.reshape(1, -1) for gr in grads], dim=1), stats


@pytest.mark.parametrize("world", [2, 4])
def test_shards_of_a_padded_batch_sum_to_the_whole_batch(world):
    model = _model()
    whole, whole_stats = _last_batch_gradient(model, 21, None)  # last batch: 5 real samples, 3 padding
    shards = [_last_batch_gradient(model, 21, DataParallel(r, world)) for r in range(world)]
    assert torch.allclose(sum(s[0] for s in shards), whole, atol=1e-6)
    summed = sum(s[1] for s in shards)  # loss sum, hits, penalty x samples: sums over ranks
    assert torch.allclose(summed[:, :3], whole_stats[:, :3], atol=1e-6)
    assert not torch.allclose(shards[0][0], whole, atol=1e-3)  # each shard alone is not the whole batch


def test_a_shard_of_padding_only_adds_nothing_even_with_batch_norm():
    model = _model(norm="before")
    whole, _ = _last_batch_gradient(model, 17, None)  # last batch: 1 real sample, 7 padding
    first, _ = _last_batch_gradient(model, 17, DataParallel(0, 2))
    second, _ = _last_batch_gradient(model, 17, DataParallel(1, 2))  # padding only
    assert torch.isfinite(second).all()
    assert torch.allclose(first + second, whole, atol=1e-6)


def test_global_batch_must_split_over_the_processes():
    data = TensorData(torch.randn(20, 6), torch.randint(0, 3, (20,)))
    group = Group([_model()], objective_for("auto", "multiclass"), [UpdateRule("sgd")], torch.device("cpu"),
                  parallel=DataParallel(0, 3))
    with pytest.raises(ConfigError, match="multiple of the 3 processes, got 8"):
        group.start(data, 8, engine="eager")


def test_compiled_engine_under_data_parallelism_runs_eagerly_with_one_warning():
    data = TensorData(torch.randn(20, 6), torch.randint(0, 3, (20,)))
    group = Group([_model()], objective_for("auto", "multiclass"), [UpdateRule("sgd")], torch.device("cpu"),
                  parallel=DataParallel(0, 2))
    with pytest.warns(RuntimeWarning, match="'compile': data-parallel steps run eagerly"):
        assert group.start(data, 8, engine="compile") == "eager"


def test_outside_torchrun_nothing_is_joined(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with joined(torch.device("cpu")) as (device, parallel):
        assert (device, parallel) == (torch.device("cpu"), None)
    assert not torch.distributed.is_initialized()
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ConfigError, match="WORLD_SIZE: expected a number of processes, got 'two'"):
        launched_world()


# -- two gloo processes under torchrun ----------------------------------------------------------------------


def _args(data: Path, out: Path) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), "--name", "run", "--epochs", str(EPOCHS), "--quiet",
            "--set", "data.valid=200", "--set", "model.hidden=[64, 64]", "--set", "model.dropout=0",
            "--set", "train.seed=5", "--set", "train.batch_size=32", "--set", "train.engine=eager",
            "--set", "train.early_stopping=false", "--set", "train.threads=1",
            # SGD: Adam's g / sqrt(v) turns the last bits of near-zero gradients into 1e-4 drifts (docs/distributed.md)
            "--set", "optimizer.name=sgd", "--set", "optimizer.lr=0.05", "--set", "optimizer.momentum=0.9"]


def _torchrun(*args: str, **options) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([str(TORCHRUN), "--nproc-per-node", "2", "--standalone", "-m", "deepfit", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **options)


def _finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    return out


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _history(run: Path, *, times: bool = False) -> list[dict[str, str]]:
    with (run / "history.csv").open() as f:
        return [{k: v for k, v in row.items() if times or k != "epoch_time_s"} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """One dataset whose last batch is short (1,300 training samples, global batch 32: 20 in the last),
    trained by one process, and by two torchrun processes of 16 samples each that are killed (torchrun
    and both ranks, SIGKILL) once the first checkpoint appears and then resumed.

    Two torchrun launches, not three: on two busy cores each costs about 20 s before training starts.
    """
    tmp = tmp_path_factory.mktemp("distributed")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1600, 32)).astype(np.float32)
    y = x[:, :4].argmax(1).astype(np.int64)
    data = tmp / "d.npz"
    np.savez(data, x_train=x[:1500], y_train=y[:1500], x_test=x[1500:], y_test=y[1500:])
    assert main(_args(data, tmp / "single")) == 0
    (single,) = (tmp / "single").iterdir()

    out = tmp / "parallel"
    proc = _torchrun(*_args(data, out))
    deadline, state = time.time() + 240, None
    while time.time() < deadline and proc.poll() is None:
        found = list(out.glob("run-*/checkpoint/state.json"))
        if found:
            state = found[0]
            break
        time.sleep(0.02)
    assert state is not None, "the processes never wrote a checkpoint: " + (proc.communicate()[0] or "")
    ranks = _children(proc.pid)  # torchrun starts each rank in a session of its own
    assert len(ranks) == 2
    for pid in [*ranks, proc.pid]:
        os.kill(pid, signal.SIGKILL)
    proc.communicate()
    (killed,) = out.iterdir()
    at_kill = {"epoch": read_checkpoint(killed / "checkpoint")["epoch"],
               "model": (killed / "model.safetensors").exists(), "history": _history(killed, times=True)}
    resumed = _finish(_torchrun("train", "--resume", str(killed), "--quiet"))
    return {"single": single, "out": out, "parallel": killed, "at_kill": at_kill, "output": resumed}


def test_two_gloo_processes_match_the_single_process_run(runs):
    single = load_file(runs["single"] / "model.safetensors")
    parallel = load_file(runs["parallel"] / "model.safetensors")
    assert single.keys() == parallel.keys()
    for k in single:
        np.testing.assert_allclose(parallel[k], single[k], rtol=1e-4, atol=1e-5, err_msg=k)
    assert len(_history(runs["single"])) == EPOCHS
    for a, b in zip(_history(runs["single"]), _history(runs["parallel"]), strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-4, abs=1e-6), key


def test_killed_data_parallel_run_resumes_from_its_checkpoint(runs):
    at_kill = runs["at_kill"]
    assert 1 <= at_kill["epoch"] < EPOCHS and not at_kill["model"], "the kill should land mid-run"
    # the epochs before the kill are the killed processes' own (their times included), the rest the resumed
    assert _history(runs["parallel"], times=True)[: at_kill["epoch"]] == at_kill["history"][: at_kill["epoch"]]
    assert len(list(runs["out"].iterdir())) == 1  # one run directory, rank 0's
    assert runs["output"].count("run directory:") == 1, runs["output"]  # rank 1 prints nothing
    assert runs["output"].count(f"after epoch {at_kill['epoch']} of {EPOCHS}") == 1, runs["output"]
