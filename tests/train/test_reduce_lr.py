"""Performance scheduling (ReduceLROnPlateau) and the schedules a run builds from its config."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from deepfit.config import load_config
from deepfit.data import from_arrays
from deepfit.errors import ConfigError
from deepfit.nn import ModelSpec, build_model
from deepfit.optim import build_schedule
from deepfit.run import run_training
from deepfit.run.setup import run_schedule, schedule_length
from deepfit.train import Trainer, UpdateRule, objective_for
from deepfit.train.callbacks import ReduceLROnPlateau


class _FakeMember:
    """The part of a member's view that performance scheduling uses: its learning rate."""

    def __init__(self, lr=0.1):
        self.lr = lr

    def set_lr(self, lr):
        self.lr = lr


def _feed(cb, member, values, key="val_loss"):
    lrs = []
    for epoch, v in enumerate(values, start=1):
        cb.on_epoch_end(member, {"epoch": epoch, key: v})
        lrs.append(member.lr)
    return lrs


def test_reduce_on_plateau_multiplies_lr_by_factor_after_patience_epochs():
    member = _FakeMember()
    cb = ReduceLROnPlateau(factor=0.5, patience=2)
    lrs = _feed(cb, member, [1.0, 0.9, 0.9, 0.9, 0.95, 0.95, 0.8])
    # epochs 3 and 4 do not improve on 0.9 -> halve after epoch 4; epochs 5, 6 -> halve again after epoch 6
    assert lrs == pytest.approx([0.1] * 3 + [0.05] * 2 + [0.025] * 2)
    assert cb.reductions == 2


def test_reduce_on_plateau_respects_min_lr_min_delta_and_accuracy_direction():
    member = _FakeMember()
    cb = ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.005, min_delta=0.05)
    lrs = _feed(cb, member, [1.0, 0.97, 0.96])  # improvements smaller than min_delta do not count
    assert lrs == pytest.approx([0.1, 0.01, 0.005])
    member = _FakeMember()
    cb = ReduceLROnPlateau(monitor="val_acc", patience=1)
    assert _feed(cb, member, [0.5, 0.6, 0.55], key="val_acc") == pytest.approx([0.1, 0.1, 0.05])


def test_reduce_on_plateau_state_round_trip_continues_identically():
    a = _FakeMember()
    cb = ReduceLROnPlateau(patience=2, cooldown=1)
    _feed(cb, a, [1.0, 1.0])
    resumed = ReduceLROnPlateau(patience=2, cooldown=1)
    resumed.load_state_dict(cb.state_dict())
    b = _FakeMember(a.lr)
    rest = [1.0, 1.0, 1.0, 0.5, 0.6, 0.6, 0.6]
    assert _feed(cb, a, rest) == _feed(resumed, b, rest)
    # reductions after epochs 3, 5 (one cooldown epoch in between) and 8, as Keras counts them
    assert resumed.reductions == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"factor": 1.0}, r"factor must be in \(0, 1\), got 1.0"),
        ({"patience": -1}, "patience must be >= 0, got -1"),
        ({"min_lr": -1e-3}, "min_lr must be >= 0"),
    ],
)
def test_reduce_on_plateau_rejects_bad_settings(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ReduceLROnPlateau(**kwargs)


def test_missing_monitor_says_which_logs_exist():
    with pytest.raises(ConfigError, match="monitors 'val_loss', but the epoch logs have only"):
        ReduceLROnPlateau().on_epoch_end(_FakeMember(), {"epoch": 1, "loss": 1.0})


def _splits():
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, size=(3, 12))
    y = rng.integers(0, 3, size=500)
    x = (centers[y] + rng.normal(0, 1.0, size=(500, 12))).astype(np.float32)
    return from_arrays(x[:400], y[:400], x[400:], y[400:], valid=80)


def test_history_records_lr_and_momentum_of_one_cycle():
    s = _splits()
    torch.manual_seed(0)
    model = build_model(ModelSpec(input_shape=(12,), num_outputs=3, hidden=[8]))
    steps = schedule_length(4, len(s.train), 32, "step")
    sched = build_schedule("one_cycle", 0.01, total_steps=steps, max_lr=0.1)
    rule = UpdateRule("sgd", {"lr": 0.01, "momentum": 0.9}, schedule=sched)
    trainer = Trainer(model, objective_for("auto", "multiclass"), rule, batch_size=32)
    h = trainer.fit(s.train, s.valid, epochs=4)
    per_epoch = steps // 4  # 320 samples / 32 = 10 steps per epoch
    assert h["lr"] == pytest.approx([sched(per_epoch * e - 1) for e in (1, 2, 3, 4)])
    assert h["momentum"] == pytest.approx([sched.momentum(per_epoch * e - 1) for e in (1, 2, 3, 4)])
    assert h["lr"][-1] < 0.01 / 100  # the annihilation phase
    plain = Trainer(model, objective_for("auto", "multiclass"), UpdateRule("sgd", {"momentum": 0.9}), batch_size=32)
    assert "momentum" not in plain.fit(s.train, None, epochs=1).columns  # momentum only when it varies


def test_run_builds_schedules_over_the_whole_run():
    cfg = load_config(
        None,
        [
            "train.epochs=3",
            "train.batch_size=50",
            "schedule.name=one_cycle",
            "schedule.max_lr=0.1",
            "optimizer.name=momentum",
            "optimizer.lr=0.01",
        ],
    )
    assert schedule_length(3, 400, 50, "step") == 24 and schedule_length(3, 400, 50, "epoch") == 3
    sched, callbacks = run_schedule(cfg, 400)
    assert callbacks == [] and sched(0) == pytest.approx(0.01)
    assert sched(23) == pytest.approx(0.01 / 1000)  # the last of 3 x 8 steps
    with pytest.raises(ConfigError, match="needs the run length"):
        run_schedule(cfg, None)


def test_performance_schedule_trains_through_its_callback(blobs_npz, tmp_path):
    cfg = load_config(
        None,
        [
            f'data.path="{blobs_npz}"',
            "data.name=npz",
            "data.valid=100",
            "train.epochs=3",
            "train.device=cpu",
            "train.early_stopping=false",
            "schedule.name=performance",
            "schedule.patience=0",
            "schedule.factor=0.5",
            "schedule.min_delta=10",
            "optimizer.name=sgd",
            "optimizer.lr=0.05",
            f'out="{tmp_path}"',
        ],
    )
    res = run_training(cfg, save=False)
    plateau = [c for c in res.trainer.members[0].callbacks.values() if isinstance(c, ReduceLROnPlateau)]
    assert len(plateau) == 1 and plateau[0].patience == 0
    # min_delta = 10: only the first epoch counts as an improvement, so the lr halves after epochs 2 and 3
    assert res.history["lr"] == [0.05, 0.05, 0.025]
    assert plateau[0].reductions == 2
    assert not math.isnan(res.metrics["valid"]["loss"])
