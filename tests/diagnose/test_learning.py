"""`not_learning` on synthetic probe records: a run at chance always gets it, a learning run never does."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deepfit.config import load_config
from deepfit.data import from_arrays
from deepfit.diagnose import RULES, Diagnosis, diagnose_record
from deepfit.diagnose import learning as L
from deepfit.diagnose.doctor import class_frequencies

TEN = [0.1] * 10
NAN = math.nan


def _layer(grad_norm=1.0, dead=NAN, saturated=NAN, update_ratio=1e-3):
    return {"grad_norm": grad_norm, "dead": dead, "saturated": saturated, "update_ratio": update_ratio}


def _record(val_acc, val_loss, *, losses=(2.0, 1.5, 1.0), grads=(1.0, 1.0, 1.0, 1.0), **layer):
    probes = [{"step": 10 * i, "epoch": 1, "lr": 0.01, "steps_since": 10, "loss": 1.0, "input_mean": 0.0,
               "input_std": 1.0, "layers": [_layer(g, **layer) for g in grads]} for i in range(3)]
    epochs = [{"epoch": i + 1, "loss": loss, "val_loss": val_loss, "val_acc": val_acc} for i, loss in enumerate(losses)]
    return {"layers": ["hidden1", "hidden2", "hidden3", "output"], "activations": [], "probes": probes,
            "epochs": epochs}


def _ctx(frequencies=TEN, **extra):
    return {"class_frequencies": frequencies, "lr": 0.01, "optimizer": "sgd", "activation": "relu", **extra}


def test_chance_and_the_priors_loss_are_those_of_predicting_the_class_frequencies():
    assert L.chance_level(TEN) == 0.1 and L.chance_level([0.9, 0.1]) == 0.9
    assert L.prior_loss(TEN) == pytest.approx(math.log(10))
    assert L.prior_loss([1.0, 0.0]) == 0.0


@pytest.mark.parametrize(("acc", "loss", "fires"), [
    (0.10, 2.30, True),   # at chance
    (0.18, 1.20, True),   # less than 10% of the way from chance (0.1 + 0.09)
    (0.20, 1.20, False),
    (0.60, 2.25, True),   # a loss within 5% of ln 10 = 2.30: no better than the priors
    (0.60, 2.10, False),
    (0.60, 35.0, False),  # far above it: overconfident, but learning
    (0.80, 0.50, False),
    (0.10, NAN, True),    # diverged
])
def test_not_learning_fires_near_chance_or_near_the_priors_loss(acc, loss, fires):
    assert (RULES.build("not_learning", _record(acc, loss), _ctx()) is not None) is fires


def test_chance_is_the_majority_class_for_imbalanced_labels():
    imbalanced = _ctx([0.9, 0.1])
    assert RULES.build("not_learning", _record(0.9, 0.2), imbalanced) is not None  # always says the majority
    assert RULES.build("not_learning", _record(0.97, 0.1), imbalanced) is None


def test_without_class_frequencies_or_epochs_there_is_nothing_to_judge():
    assert RULES.build("not_learning", _record(0.1, 2.3), {"lr": 0.01}) is None
    assert RULES.build("not_learning", {**_record(0.1, 2.3), "epochs": []}, _ctx()) is None


def test_not_learning_is_an_error_with_its_likely_causes_ranked_and_their_remedies():
    vanishing = _record(0.1, 2.3, grads=(1e-6, 1e-3, 1.0, 1.0), losses=(2.3, 2.3, 2.29))
    finding = RULES.build("not_learning", vanishing, _ctx(activation="sigmoid", init="glorot_uniform", norm="none"))
    assert finding.severity == "error"
    causes = [c["cause"] for c in finding.evidence["causes"]]
    assert causes[0] == "vanishing" and "flat_loss" in causes
    assert finding.remedies[0] == ["model.activation=relu", "model.init=he_normal"]
    assert ["optimizer.name=nadam", "optimizer.lr=0.001"] in finding.remedies


@pytest.mark.parametrize(("layer", "cause", "remedy"), [
    ({"dead": 0.9}, "dead", ['model.activation={name="leaky_relu", alpha=0.2}']),
    ({"update_ratio": 1e-7}, "updates_small", ["optimizer.name=nadam", "optimizer.lr=0.001"]),
    ({"update_ratio": 0.5}, "updates_large", ["optimizer.lr=0.001"]),
])
def test_each_cause_brings_its_own_remedy_first(layer, cause, remedy):
    finding = RULES.build("not_learning", _record(0.1, 2.3, losses=(2.0, 1.5, 1.0), **layer), _ctx())
    assert finding.evidence["causes"][0]["cause"] == cause
    assert finding.remedies[0] == remedy


def test_a_run_at_chance_with_no_cause_is_prescribed_an_adaptive_optimizer_and_a_larger_lr():
    finding = RULES.build("not_learning", _record(0.1, 2.3), _ctx())
    assert finding.evidence["causes"] == []
    assert finding.remedies == [["optimizer.name=nadam", "optimizer.lr=0.001"], ["optimizer.lr=0.1"]]


def test_a_net_at_chance_is_never_healthy_whichever_rules_ran():
    record = _record(0.1, 2.3)
    names = [f.name for f in diagnose_record(record, _ctx())]
    assert "not_learning" in names
    cfg = load_config(None, [])
    assert not Diagnosis([], record, _ctx(), cfg).healthy  # even with its findings left out
    assert Diagnosis([], _record(0.8, 0.5), _ctx(), cfg).healthy


def test_the_context_holds_the_class_frequencies_of_the_training_labels():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    splits = from_arrays(np.zeros((100, 2), dtype=np.float32), y, valid=0)
    assert class_frequencies(splits, "multiclass") == pytest.approx([0.6, 0.3, 0.1])
    binary = from_arrays(np.zeros((100, 2), dtype=np.float32), (y > 0).astype(np.float32), valid=0, task="binary")
    assert class_frequencies(binary, "binary") == pytest.approx([0.6, 0.4])
    assert class_frequencies(splits, "regression") is None
