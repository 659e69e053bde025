"""The too-much-regularisation rules on synthetic probe records: each fires past its threshold and stays quiet
short of it; the doctor's context carries the dropout rate and the penalty they read."""

from __future__ import annotations

import pytest
import torch

from deepfit.config import load_config
from deepfit.data import from_arrays
from deepfit.diagnose import RULES
from deepfit.diagnose import regularization as R
from deepfit.diagnose.doctor import run_context


def _record(train_acc=0.4, val_acc=0.66, norms=((30.0, 10.0), (30.0, 10.0))):
    """Two probes whose (hidden, output) kernel norms are `norms[0]` then `norms[1]`, and one last epoch."""
    probes = [{"step": 10 * i, "epoch": 1, "lr": 0.1, "steps_since": 10, "loss": 0.8, "acc": 0.7,
               "input_mean": 0.0, "input_std": 1.0, "layers": [{"weight_norm": n} for n in pair]}
              for i, pair in enumerate(norms)]
    return {"layers": ["hidden1", "output"], "activations": ["ReLU", None], "fans": [[784, 512], [512, 10]],
            "probes": probes, "epochs": [{"epoch": 1, "loss": 1.0, "acc": train_acc, "val_acc": val_acc}]}


@pytest.mark.parametrize(("rate", "train_acc", "fires"), [
    (0.8, 0.38, True),    # UMLAUT's case: training 0.28 below validation with dropout on
    (0.5, 0.38, False),   # a half is the usual upper end for hidden layers, not too much
    (0.8, 0.60, False),   # 0.06 below validation: dropout's cost within what a healthy run shows
])
def test_too_much_dropout_needs_a_rate_above_half_and_its_cost_in_training_accuracy(rate, train_acc, fires):
    finding = RULES.build("too_much_dropout", _record(train_acc, 0.66), {"dropout": rate})
    assert (finding is not None) is fires
    if fires:
        assert finding.remedies[0] == [f"model.dropout={R.DROPOUT_REMEDY}"] and "0.28 below" in finding.summary


def test_too_much_dropout_is_quiet_without_dropout_or_epochs():
    assert RULES.build("too_much_dropout", _record(0.1, 0.9), {}) is None
    assert RULES.build("too_much_dropout", _record() | {"epochs": []}, {"dropout": 0.9}) is None


@pytest.mark.parametrize(("last", "l2", "fires"), [
    ((2.0, 1.0), 0.1, True),     # 5 / 1000 of the squared norm kept: TheDeepChecker's l2 0.1 (about 1/200)
    ((9.0, 4.0), 0.01, False),   # 97 / 1000 kept: Keras's default l2 on the reference net (about 1/9)
    ((2.0, 1.0), 0.0, False),    # shrunk without a penalty: not this rule's finding
])
def test_over_regularization_fires_when_the_penalty_shrank_the_weights_thirtyfold(last, l2, fires):
    record = _record(norms=((30.0, 10.0), last))
    finding = RULES.build("over_regularization", record, {"penalty": {"l1": 0.0, "l2": l2}})
    assert (finding is not None) is fires
    if fires:
        assert finding.evidence["kept"] == pytest.approx(0.005)
        assert finding.remedies == [['regularization.penalty={name="l2", l2=0.001}'], ["regularization.penalty=none"]]


def test_the_doctor_context_carries_the_highest_dropout_rate_and_the_penalty_factors():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 4, generator=g).numpy()
    splits = from_arrays(x, (x[:, 0] > 0).astype("int64"), valid=20)
    cfg = load_config(None, ["model.hidden=[5, 5]", "model.dropout=[0.1, 0.7]",
                             'regularization.penalty={name="l2", l2=0.1}'])
    ctx = run_context(cfg, splits)
    assert ctx["dropout"] == pytest.approx(0.7) and ctx["penalty"] == {"l1": 0.0, "l2": pytest.approx(0.1)}
    plain = run_context(load_config(None, ["model.hidden=[5]"]), splits)
    assert plain["dropout"] == 0.0 and plain["penalty"] == {"l1": 0.0, "l2": 0.0}


def test_over_regularization_leaves_weights_wrecked_by_a_diverged_run_to_the_lr_rules():
    nan = _record(norms=((30.0, 10.0), (float("nan"), 1.0)))  # a layer's weights overflowed
    assert RULES.build("over_regularization", nan, {"penalty": {"l2": 0.1}}) is None
    shrunk = _record(norms=((30.0, 10.0), (2.0, 1.0)))
    shrunk["probes"][-1]["loss"] = float("nan")  # the loss diverged: lr_too_high's finding
    assert RULES.build("lr_too_high", shrunk, {"lr": 0.5}) is not None
    assert RULES.build("over_regularization", shrunk, {"penalty": {"l2": 1e-5}, "lr": 0.5}) is None
