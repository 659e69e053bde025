"""The LR finder: exponential sweep, smoothed loss, early stop on divergence, restored state, suggestions."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from deepfit.data import from_arrays
from deepfit.diagnose import find_lr
from deepfit.diagnose.lr_finder import _read_curve
from deepfit.errors import ConfigError
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Trainer, UpdateRule, objective_for


def _splits(seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, size=(3, 12))  # overlapping classes: the loss cannot reach 0
    y = rng.integers(0, 3, size=700)
    x = (centers[y] + rng.normal(0, 1.0, size=(700, 12))).astype(np.float32)
    return from_arrays(x[:600], y[:600], x[600:], y[600:], valid=100)


def _trainer(name: str = "sgd", lr: float = 0.01):
    torch.manual_seed(0)
    model = build_model(ModelSpec(input_shape=(12,), num_outputs=3, hidden=[16, 16]))
    return Trainer(model, objective_for("auto", "multiclass"), UpdateRule(name, {"lr": lr}), batch_size=16, seed=0)


def test_lr_find_sweeps_exponentially_and_stops_when_the_loss_diverges():
    s = _splits()
    trainer = _trainer()
    res = find_lr(trainer, s.train, start_lr=1e-4, end_lr=1e3, steps=60, smoothing=0.9)
    assert res.diverged and len(res.lrs) < 60
    ratios = np.diff(np.log10(res.lrs))
    assert np.allclose(ratios, 7 / 59)  # 1e-4 -> 1e3 in 59 equal steps of log10(lr)
    assert res.losses[-1] > 4.0 * min(res.losses[:-1])
    assert res.suggestion == pytest.approx(res.min_loss_lr / 10)
    assert 1e-4 < res.suggestion < 10
    assert res.steepest_lr is not None and res.steepest_lr <= res.min_loss_lr


def test_lr_find_smooths_the_loss_with_bias_correction():
    s = _splits()
    res = find_lr(_trainer(), s.train, start_lr=1e-3, end_lr=1.0, steps=20, smoothing=0.9)
    avg = 0.0
    for i, (raw, smooth) in enumerate(zip(res.raw_losses, res.losses, strict=True)):
        avg = 0.9 * avg + 0.1 * raw
        assert smooth == pytest.approx(avg / (1 - 0.9 ** (i + 1)))
    assert res.losses[0] == pytest.approx(res.raw_losses[0])


def test_lr_find_leaves_the_trainer_as_it_was():
    s = _splits()
    trainer = _trainer("adam", lr=1e-3)
    trainer.fit(s.train, None, epochs=1)
    state = copy.deepcopy(trainer.state_dict())
    weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    res = find_lr(trainer, s.train, steps=30)
    assert 10 < len(res.lrs) <= 30
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, weights[k]), k
    after = trainer.state_dict()
    assert torch.equal(after["group"]["update"]["state"]["exp_avg"], state["group"]["update"]["state"]["exp_avg"])
    assert all(torch.equal(a, b) for a, b in zip(after["rng"]["generators"], state["rng"]["generators"], strict=True))


def test_lr_find_defaults_to_about_one_epoch():
    s = _splits()
    res = find_lr(_trainer(), s.train, end_lr=1e-2)  # too small to diverge
    assert len(res.lrs) == math.ceil(len(s.train) / 16)
    assert not res.diverged


def test_a_loss_that_never_decreases_gives_no_suggestion():
    lrs = list(np.logspace(-6, 1, 20))
    res = _read_curve(lrs, [1.0] * 20, [1.0 + 0.01 * i for i in range(20)], diverged=False)
    assert res.suggestion is None and res.steepest_lr is None
    assert "the loss never decreased" in res.message
    flat = _read_curve(lrs, [1.0] * 20, [1.0 - 1e-4 * i for i in range(20)], diverged=False)
    assert flat.suggestion is None  # a 0.2% drop is noise, not learning


def test_steepest_descent_is_read_against_log_lr():
    lrs = list(np.logspace(-5, 0, 11))  # log10 lr = -5, -4.5, ..., 0
    losses = [2.0, 2.0, 1.9, 1.5, 0.7, 0.5, 0.45, 0.44, 0.6, 2.0, 5.0]
    res = _read_curve(lrs, losses, losses, diverged=True)
    assert res.steepest_lr == pytest.approx(lrs[3])  # central difference (0.7 - 1.9) / 1.0 is the steepest
    assert res.min_loss_lr == pytest.approx(lrs[7])
    assert res.suggestion == pytest.approx(lrs[7] / 10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start_lr": 1.0, "end_lr": 0.1}, "need 0 < start_lr < end_lr"),
        ({"steps": 1}, "steps must be >= 2, got 1"),
        ({"smoothing": 1.0}, r"smoothing must be in \[0, 1\), got 1.0"),
        ({"diverge": 1.0}, "diverge must be > 1"),
    ],
)
def test_lr_find_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        find_lr(_trainer(), _splits().train, **kwargs)
