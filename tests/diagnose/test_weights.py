"""The weight rules on synthetic probe records: each fires past its threshold and stays quiet short of it."""

from __future__ import annotations

import math

import pytest

from deepfit.diagnose import RULES
from deepfit.diagnose import weights as W

FANS = [[784, 100], [100, 100], [100, 10]]


def _record(spreads_first, spreads_last=None, variances=None):
    variances = variances or [2 / 784, 2 / 100, 2 / 110]

    def probe(step, spreads):
        return {"step": step, "epoch": 1, "lr": 0.01, "steps_since": 10, "loss": 1.0, "acc": 0.5,
                "input_mean": 0.0, "input_std": 1.0,
                "layers": [{"unit_spread": s, "weight_norm": math.sqrt(v * a * b)}
                           for s, v, (a, b) in zip(spreads, variances, FANS, strict=True)]}

    return {"layers": ["hidden1", "hidden2", "output"], "activations": ["ReLU", "ReLU", None], "fans": FANS,
            "probes": [probe(0, spreads_first), probe(100, spreads_last or spreads_first)], "epochs": []}


@pytest.mark.parametrize(("spread", "fires"), [(0.005, True), (0.02, False)])
def test_weights_too_uniform_fires_below_one_percent_spread(spread, fires):
    finding = RULES.build("weights_too_uniform", _record([1.0, spread, 0.9]), {"activation": "relu"})
    assert (finding is not None) is fires
    if fires:
        assert finding.layers == ["hidden2"] and finding.remedies == [["model.init=he_normal"]]


def test_weights_too_uniform_reads_the_first_and_last_probes_but_not_the_output_layer():
    broken_later = _record([1.0, 1.0, 0.9], [0.0, 1.0, 0.9])
    still = RULES.build("weights_too_uniform", broken_later, {"activation": "tanh"})
    assert "still identical" in still.summary and still.severity == "error"
    parted = RULES.build("weights_too_uniform", _record([0.0, 1.0, 0.9], [0.3, 1.0, 0.9]), {})
    assert "at initialisation" in parted.summary and parted.severity == "warning"  # rounding told them apart
    assert RULES.build("weights_too_uniform", _record([1.0, 1.0, 0.0]), {}) is None  # output rows: softmax splits them
    finding = RULES.build("weights_too_uniform", _record([0.0, 1.0, 0.9], [0.0, 1.0, 0.9]), {"activation": "sigmoid"})
    assert finding.remedies == [["model.init=glorot_uniform"]]


def test_target_variance_follows_the_initializer_family():
    assert W.target_variance("he_normal", 100, 10) == pytest.approx(0.02)
    assert W.target_variance("lecun_normal", 100, 10) == pytest.approx(0.01)
    assert W.target_variance("glorot_uniform", 100, 10) == pytest.approx(2 / 110)


@pytest.mark.parametrize(("factor", "fires"), [(12.0, True), (8.0, False), (1 / 12, True), (1 / 8, False)])
def test_poor_weight_scale_fires_ten_times_off_the_activation_init_target(factor, fires):
    variances = [2 / 784, 2 / 100 * factor, 2 / 110]
    finding = RULES.build("poor_weight_scale", _record([1, 1, 1], variances=variances), {"activation": "relu"})
    assert (finding is not None) is fires
    if fires:
        assert finding.layers == ["hidden2"] and finding.remedies == [["model.init=he_normal"]]


def test_poor_weight_scale_judges_the_output_by_glorot_and_skips_hidden_layers_under_batch_norm():
    big_hidden = [2 / 784 * 100, 2 / 100 * 100, 2 / 110]
    assert RULES.build("poor_weight_scale", _record([1, 1, 1], variances=big_hidden),
                       {"activation": "relu", "norm": "before"}) is None
    big_output = [2 / 784, 2 / 100, 2 / 110 * 20]
    finding = RULES.build("poor_weight_scale", _record([1, 1, 1], variances=big_output),
                          {"activation": "relu", "norm": "before"})
    assert finding.layers == ["output"] and "glorot_uniform" in finding.summary
    selu = [1 / 784, 1 / 100, 2 / 110]  # LeCun's 1 / fan_in is SELU's target: no finding
    assert RULES.build("poor_weight_scale", _record([1, 1, 1], variances=selu), {"activation": "selu"}) is None
