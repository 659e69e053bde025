"""Each doctor rule on synthetic probe records: it fires past its threshold and stays quiet short of it."""

from __future__ import annotations

import math

import pytest

from deepfit.diagnose import RULES, diagnose_record
from deepfit.diagnose import rules as R

NAN = math.nan


def _layer(**values):
    row = dict.fromkeys(("pre_mean", "pre_std", "act_mean", "act_std", "saturated", "dead", "grad_norm",
                         "weight_norm", "update_ratio", "bn_mean", "bn_var"), NAN)
    row.update(values)
    return row


def _probe(step, layers, loss=1.0, mean=0.0, std=1.0):
    return {"step": step, "epoch": 1, "lr": 0.01, "steps_since": 10, "loss": loss, "input_mean": mean,
            "input_std": std, "layers": layers}


def _record(probes, epochs=(), names=("hidden1", "hidden2", "hidden3", "output")):
    return {"layers": list(names), "activations": ["ReLU"] * (len(names) - 1) + [None], "probes": list(probes),
            "epochs": list(epochs)}


def _grads(*norms, **extra):
    return [_layer(grad_norm=g, **extra) for g in norms]


def _fires(name, record, ctx=None):
    return RULES.build(name, record, ctx or {"lr": 0.01}) is not None


@pytest.mark.parametrize(("first", "fires"), [(1e-3, True), (0.02, False)])
def test_vanishing_gradients_fires_below_one_hundredth(first, fires):
    record = _record([_probe(0, _grads(first, 0.1, 1.0, 1.0))])  # first / last hidden = first / 1.0
    assert _fires("vanishing_gradients", record) is fires


def test_a_gradient_that_underflows_to_zero_is_named_so():
    finding = RULES.build("vanishing_gradients", _record([_probe(0, _grads(0.0, 0.1, 1.0, 1.0))]), {"lr": 0.01})
    assert "zero (underflow)" in finding.summary


@pytest.mark.parametrize(("ctx", "expected"), [
    ({"activation": "sigmoid", "init": "glorot_uniform", "norm": "none", "hidden": [100] * 8},
     [["model.activation=relu", "model.init=he_normal"],
      ["model.activation=selu", "model.init=lecun_normal", "data.standardize=true"], ["model.norm=before"]]),
    ({"activation": "relu", "init": "glorot_uniform", "norm": "none", "hidden": [100] * 8},
     [["model.init=auto"], ["model.norm=before"]]),
    ({"activation": "relu", "init": "he_uniform", "norm": "none", "hidden": [100] * 8}, [["model.norm=before"]]),
    ({"activation": "selu", "init": "lecun_normal", "norm": "none", "hidden": [100] * 8},
     [["model.hidden=[100, 100, 100, 100]"]]),
    ({"activation": "elu", "init": "auto", "norm": "before", "hidden": [100] * 6}, [["model.hidden=[100, 100, 100]"]]),
])
def test_vanishing_gradients_prescribes_only_what_the_run_does_not_already_do(ctx, expected):
    finding = RULES.build("vanishing_gradients", _record([_probe(0, _grads(1e-4, 0.1, 1.0, 1.0))]), ctx)
    assert finding.remedies == expected


@pytest.mark.parametrize(("first", "fires"), [(200.0, True), (50.0, False)])
def test_exploding_gradients_fires_above_a_hundred(first, fires):
    record = _record([_probe(0, _grads(first, 10.0, 1.0, 1.0)), _probe(10, _grads(first, 10.0, 1.0, 1.0))])
    assert _fires("exploding_gradients", record) is fires


def test_loss_spikes_and_non_finite_gradients_are_explosions():
    calm = [_probe(s, _grads(1, 1, 1, 1), loss=1.0) for s in (0, 10)]
    assert not _fires("exploding_gradients", _record(calm))
    assert _fires("exploding_gradients", _record([*calm, _probe(20, _grads(1, 1, 1, 1), loss=15.0)]))
    assert _fires("exploding_gradients", _record([*calm, _probe(20, _grads(math.inf, 1, 1, 1))]))
    # a frozen layer has no gradient: NaN is not an explosion
    assert not _fires("exploding_gradients", _record([*calm, _probe(20, _grads(NAN, 1, 1, 1))]))


@pytest.mark.parametrize(("fraction", "fires"), [(0.6, True), (0.4, False)])
def test_saturation_fires_past_half_of_the_outputs(fraction, fires):
    record = _record([_probe(0, [_layer(saturated=fraction), _layer(), _layer(), _layer()])])
    assert _fires("saturation", record) is fires


@pytest.mark.parametrize(("fraction", "fires"), [(0.7, True), (0.3, False)])
def test_dying_relu_fires_past_half_of_the_units(fraction, fires):
    record = _record([_probe(0, [_layer(), _layer(dead=fraction), _layer(), _layer()])])
    finding = RULES.build("dying_relu", record, {"lr": 0.1})
    assert (finding is not None) is fires
    if fires:
        assert finding.layers == ["hidden2"] and ["optimizer.lr=0.01"] in finding.remedies


def _moving(ratio, n=4):
    return [_probe(10 * i, [_layer(update_ratio=ratio if i else NAN, grad_norm=1.0) for _ in range(4)])
            for i in range(n)]


@pytest.mark.parametrize(("ratio", "fires"), [(0.05, True), (0.01, False)])
def test_lr_too_high_fires_on_large_updates(ratio, fires):
    assert _fires("lr_too_high", _record(_moving(ratio))) is fires


def test_lr_too_high_fires_on_divergence():
    record = _record(_moving(1e-3), epochs=[{"epoch": 1, "loss": math.nan}])
    finding = RULES.build("lr_too_high", record, {"lr": 0.5})
    assert finding is not None and finding.evidence["diverged"] and finding.remedies[0] == ["optimizer.lr=0.05"]


@pytest.mark.parametrize(("ratio", "drop", "fires"), [(1e-7, 0.01, True), (1e-5, 0.01, False), (1e-7, 0.5, False)])
def test_lr_too_low_needs_tiny_updates_and_a_flat_loss(ratio, drop, fires):
    epochs = [{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 1.0 - drop}]
    assert _fires("lr_too_low", _record(_moving(ratio), epochs)) is fires


def _val(losses, train=None):
    train = train or [1.0 / (i + 1) for i in range(len(losses))]
    return [{"epoch": i + 1, "loss": t, "val_loss": v} for i, (t, v) in enumerate(zip(train, losses, strict=True))]


def test_overfitting_needs_a_rising_validation_loss_while_training_falls():
    rising = _val([1.0, 0.6, 0.5, 0.55, 0.6, 0.7])  # best at epoch 3, 40% higher three epochs later
    assert _fires("overfitting", _record(_moving(1e-3), rising))
    assert not _fires("overfitting", _record(_moving(1e-3), _val([1.0, 0.6, 0.5, 0.5, 0.52, 0.54])))  # +8%
    assert not _fires("overfitting", _record(_moving(1e-3), _val([1.0, 0.6, 0.5, 0.9])))  # too few epochs after
    assert not _fires("overfitting", _record(_moving(1e-3), _val([1.0, 0.6, 0.5, 0.55, 0.6, 0.7],
                                                                    train=[1.0, 0.9, 0.8, 0.9, 0.95, 1.0])))


@pytest.mark.parametrize(("last", "fires"), [(0.98, True), (0.9, False)])
def test_underfitting_fires_on_a_flat_training_loss_with_validation_level(last, fires):
    epochs = [{"epoch": i, "loss": loss, "val_loss": loss} for i, loss in enumerate([1.0, 0.99, last], start=1)]
    assert _fires("underfitting", _record(_moving(1e-3), epochs)) is fires


@pytest.mark.parametrize(("mean", "std", "fires"), [(120.0, 80.0, True), (0.3, 0.35, False), (0.0, 0.01, True)])
def test_unnormalised_inputs(mean, std, fires):
    assert _fires("unnormalised_inputs", _record([_probe(0, _grads(1, 1, 1, 1), mean=mean, std=std)])) is fires


def test_broken_self_normalization_reads_the_conditions_and_the_drift():
    clean = _record([_probe(0, [_layer(act_mean=0.0, act_std=1.0) for _ in range(4)])])
    selu = {"activation": "selu", "selfnorm": []}
    assert not _fires("broken_self_normalization", clean, selu)
    assert not _fires("broken_self_normalization", clean, {"activation": "relu", "selfnorm": [{"condition": "x"}]})
    broken = {"activation": "selu", "selfnorm": [{"condition": "alpha dropout only", "found": "plain dropout",
                                                  "fix": ""}]}
    finding = RULES.build("broken_self_normalization", clean, broken)
    assert finding.remedies == [["model.dropout_kind=alpha"]]  # every broken condition's fix in one remedy
    drifted = _record([_probe(0, [_layer(act_mean=0.0, act_std=1.0), _layer(act_mean=0.1, act_std=1.0),
                                  _layer(act_mean=0.9, act_std=2.5), _layer()])])
    assert _fires("broken_self_normalization", drifted, selu)


def test_frozen_layer_fires_when_one_layer_stands_still_and_others_move():
    def probes(first_grad):
        return [_probe(10 * i, [_layer(update_ratio=(0.0 if j == 0 else 1e-3) if i else NAN,
                                       grad_norm=first_grad if j == 0 else 1.0) for j in range(4)])
                for i in range(3)]

    finding = RULES.build("frozen_layer", _record(probes(0.5)), {})
    assert finding is not None and finding.layers == ["hidden1"]
    assert _fires("frozen_layer", _record(probes(0.0)), {})  # no gradient at all
    assert not _fires("frozen_layer", _record(probes(1e-5)), {})  # its gradient vanished: not this rule's finding
    assert not _fires("frozen_layer", _record(_moving(1e-3, n=3)), {})


def test_findings_are_ranked_errors_first_and_a_clean_record_has_none():
    clean = _record(_moving(1e-3), _val([1.0, 0.8, 0.7, 0.65, 0.62, 0.6]))
    assert diagnose_record(clean, {"lr": 0.01, "activation": "relu"}) == []
    sick = _record([_probe(0, [_layer(grad_norm=1e-5, dead=0.9), _layer(grad_norm=1.0), _layer(grad_norm=1.0),
                               _layer(grad_norm=1.0)], mean=100.0, std=50.0)])
    names = [f.name for f in diagnose_record(sick, {"lr": 0.01})]
    assert names[:2] == ["vanishing_gradients", "dying_relu"] and names[-1] == "unnormalised_inputs"


def test_every_rule_is_registered_with_a_summary_and_constants_are_documented():
    assert set(RULES.names()) >= {"vanishing_gradients", "exploding_gradients", "saturation", "dying_relu",
                                  "lr_too_high", "lr_too_low", "broken_self_normalization", "overfitting",
                                  "underfitting", "unnormalised_inputs", "frozen_layer"}
    assert all(entry.summary for entry in RULES.entries())
    assert R.VANISHING_RATIO < 1 < R.EXPLODING_RATIO and R.UPDATE_RATIO_LOW < 1e-3 < R.UPDATE_RATIO_HIGH
