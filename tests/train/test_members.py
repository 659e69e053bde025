"""A group's members (train/members.py): status, divergence notes, checkpoints, and the per-member view."""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch
from torch import nn

from deepfit.data import TensorData, from_arrays
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Trainer, UpdateRule, objective_for
from deepfit.train.callbacks.base import Callback
from deepfit.train.flat import flatten_members
from deepfit.train.history import History
from deepfit.train.members import Member, MemberView
from deepfit.train.update import Update


class _Counter(Callback):
    def __init__(self) -> None:
        self.seen = 0

    def state_dict(self):
        return {"seen": self.seen}

    def load_state_dict(self, state):
        self.seen = state["seen"]


def _member(**kw) -> Member:
    return Member(nn.Linear(2, 2), 0, UpdateRule("sgd"), History(), {0: _Counter()}, **kw)


def test_a_stopped_member_records_the_epoch_and_stops_only_once():
    m = _member()
    assert m.training
    m.stop(4, "patience ran out")
    m.stop(6, "again")
    assert (m.status, m.stopped_epoch, m.note, m.training) == ("stopped", 4, "patience ran out", False)


def test_a_diverged_member_is_not_stopped_again_and_its_note_names_the_last_finite_loss():
    m = _member()
    m.diverge(3, 0.61234)
    m.stop(5)
    assert (m.status, m.stopped_epoch) == ("diverged", 3)
    assert m.diverged == {"epoch": 3, "last_finite_loss": 0.61234}
    assert "non-finite (NaN or inf) in epoch 3; the epoch before, the mean training loss was 0.6123" in m.note
    assert "gradient clipping ([clip])" in m.note


@pytest.mark.parametrize("loss", [None, float("nan"), float("inf")])
def test_a_member_diverging_without_a_finite_loss_before_records_none(loss):
    m = _member()
    m.diverge(1, loss)
    assert m.diverged == {"epoch": 1, "last_finite_loss": None}
    assert "the epoch before" not in m.note


def test_a_members_state_round_trips_with_its_callbacks():
    m = _member()
    m.history.append({"loss": 1.0})
    m.callbacks[0].seen = 7
    m.diverge(2, 1.0)
    other = _member()
    other.load_state_dict(m.state_dict())
    assert other.history.rows == [{"loss": 1.0}] and other.callbacks[0].seen == 7
    assert (other.status, other.stopped_epoch, other.note, other.diverged) == (
        m.status, m.stopped_epoch, m.note, m.diverged)


def _view(k: int, members: list[Member]) -> tuple[MemberView, Update]:
    nets = [m.model for m in members]
    tensors = flatten_members(nets, torch.device("cpu"))
    update = Update([m.rule for m in members], tensors, [], lambda name: None, torch.device("cpu"))
    fit = types.SimpleNamespace(epoch=3, epochs=10, step=120)
    return MemberView(fit, members[k], k, update, "objective"), update


def test_a_member_view_stops_its_member_only_at_the_fits_epoch():
    members = [_member(), _member()]
    view, _ = _view(1, members)
    assert (view.epoch, view.epochs, view.step, view.model, view.objective) == (3, 10, 120, members[1].model,
                                                                                 "objective")
    view.stop_training = False
    assert members[1].training
    view.stop_training = True
    assert view.stop_training and (members[1].status, members[1].stopped_epoch) == ("stopped", 3)
    assert members[0].training


def test_a_member_views_lr_is_its_own_members():
    members = [Member(nn.Linear(2, 2), 0, UpdateRule("sgd", {"lr": lr}), History(), {}) for lr in (0.1, 0.2)]
    view, update = _view(1, members)
    assert view.lr == pytest.approx(0.2)
    view.set_lr(0.05)
    assert update.lr(1) == pytest.approx(0.05) and update.lr(0) == pytest.approx(0.1)


def _data() -> TensorData:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=100)
    x = (rng.normal(0, 2, size=(3, 6))[y] + rng.normal(size=(100, 6))).astype(np.float32)
    return from_arrays(x, y, valid=0).train


def _fit(seeds, rules) -> Trainer:
    models = []
    for s in seeds:
        torch.manual_seed(s)
        models.append(build_model(ModelSpec((6,), 3, hidden=[8], norm="before")))
    trainer = Trainer(models, objective_for("auto", "multiclass"), rules, batch_size=16, seed=list(seeds),
                      engine="eager")
    trainer.fit(_data(), epochs=2)
    return trainer


def test_members_differing_in_lr_schedule_clip_threshold_and_penalty_train_as_each_alone():
    rules = [
        UpdateRule("adam", {"lr": 0.01}, schedule=lambda t: 0.01 / (1 + t), clip="global_norm",
                   clip_threshold=0.5, penalty={"name": "l2", "l2": 1e-3}),
        UpdateRule("adam", {"lr": 0.003, "betas": (0.8, 0.99)}, clip="global_norm", clip_threshold=5.0,
                   penalty={"name": "l2", "l2": 1e-2}),
    ]
    together = _fit([1, 2], rules)
    for k, (seed, rule) in enumerate(zip([1, 2], rules, strict=True)):
        alone = _fit([seed], [rule])
        for (name, a), b in zip(together.models[k].state_dict().items(), alone.model.state_dict().values(),
                                strict=True):
            torch.testing.assert_close(a.float(), b.float(), rtol=2e-6, atol=2e-6, msg=name)
        assert together.histories[k]["loss"] == pytest.approx(alone.history["loss"], rel=1e-5)
