"""Remedies as config transformations: coherent, validated, checked by the static rules, and pasteable."""

from __future__ import annotations

import math
import shlex

import numpy as np
import pytest

from deepfit.config import compact_override as compact
from deepfit.config import load_config, parse_override
from deepfit.config import shell_overrides as shell_text
from deepfit.data import from_arrays
from deepfit.diagnose import RULES
from deepfit.diagnose.doctor import run_context
from deepfit.diagnose.remedies import apply_remedy, static_findings, static_record

NAN = math.nan


def _splits_for(cfg):
    """Small in-memory blobs (4 features, 3 classes), raw with a large offset unless standardised."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=240)
    x = (rng.normal(0, 1, size=(240, 4)) + y[:, None]) * 30 + 100
    return from_arrays(x.astype(np.float32), y, valid=60, standardize=cfg.data.standardize)


def _cfg(*overrides):
    return load_config(None, ["model.hidden=[8, 8, 8]", "train.device=cpu", *overrides])


def test_remedies_print_as_flags_a_shell_takes_whole():
    assert compact("model.hidden=[300, 300, 100]") == "model.hidden=[300,300,100]"
    leaky = 'model.activation={name="leaky_relu",alpha=0.2}'
    assert compact('model.activation={name="leaky_relu", alpha=0.2}') == leaky
    assert compact("model.activation=relu") == "model.activation=relu"
    remedy = ["model.hidden=[300, 300, 100]", 'model.activation={name="leaky_relu", alpha=0.2}', "optimizer.lr=0.001"]
    text = shell_text(remedy)
    assert text.startswith("--set 'model.hidden=[300,300,100]' --set 'model.activation={")
    words = shlex.split(text)
    assert words[::2] == ["--set"] * 3
    assert [parse_override(w) for w in words[1::2]] == [parse_override(o) for o in remedy]


def test_leaving_selu_takes_its_init_and_alpha_dropout_with_it():
    cfg = _cfg("model.activation=selu", "model.init=lecun_normal", "model.dropout=0.1", "model.dropout_kind=alpha")
    remedy = apply_remedy(cfg, ["model.activation=elu"], _splits_for)
    assert remedy.implied == ["model.init=he_normal", "model.dropout_kind=standard"]
    assert remedy.coherent and remedy.config.model.dropout_kind == "standard"


def test_a_sigmoid_net_with_alpha_dropout_switched_to_relu_gets_standard_dropout():
    """The issue's example: the SELU preset with sigmoid; ReLU + He kept alpha dropout and stayed at chance."""
    cfg = _cfg("model.activation=sigmoid", "model.init=lecun_normal", "model.dropout=0.1", "model.dropout_kind=alpha")
    remedy = apply_remedy(cfg, ["model.activation=relu", "model.init=he_normal"], _splits_for)
    assert remedy.all == ["model.activation=relu", "model.init=he_normal", "model.dropout_kind=standard"]


def test_switching_to_selu_brings_every_condition_of_self_normalization():
    cfg = _cfg("model.activation=relu", "model.init=he_normal", "model.norm=before", "model.dropout=0.2",
               "data.standardize=false")
    remedy = apply_remedy(cfg, ["model.activation=selu"], _splits_for)
    assert set(remedy.implied) == {"model.init=lecun_normal", "model.norm=none", "model.dropout_kind=alpha",
                                   "data.standardize=true"}
    assert remedy.coherent and remedy.changes_data
    assert static_findings(remedy.config, _splits_for(remedy.config)) == []


def test_a_remedy_that_breaks_another_rule_and_cannot_be_completed_is_incoherent():
    cfg = _cfg("model.activation=selu", "model.init=lecun_normal")
    remedy = apply_remedy(cfg, ["model.norm=before"], _splits_for)  # batch norm breaks self-normalization
    assert not remedy.coherent and remedy.problems[0].startswith("broken_self_normalization")


def test_an_unchanged_companion_is_not_implied():
    cfg = _cfg("model.activation=relu", "model.init=he_normal")
    assert apply_remedy(cfg, ["model.activation=elu"], _splits_for).implied == []  # He suits ELU too
    assert apply_remedy(cfg, ["optimizer.lr=0.01"], _splits_for).implied == []


# -- every rule's remedies, applied to a config that triggers it ---------------------------------------------


def _layer(**values):
    row = dict.fromkeys(("pre_mean", "pre_std", "act_mean", "act_std", "saturated", "dead", "grad_norm",
                         "weight_norm", "update_ratio"), NAN)
    row.update(values)
    return row


def _record(layers, *, epochs=(), probes=3, loss=1.0, input_mean=0.0):
    rows = [{"step": 10 * i, "epoch": 1, "lr": 0.01, "steps_since": 10, "loss": loss, "input_mean": input_mean,
             "input_std": 1.0, "layers": [dict(layer) for layer in layers]} for i in range(probes)]
    return {"layers": ["hidden1", "hidden2", "hidden3", "output"], "activations": [], "probes": rows,
            "epochs": list(epochs)}


def _epochs(losses, val_losses, val_acc=0.8):
    return [{"epoch": i + 1, "loss": a, "val_loss": b, "val_acc": val_acc} for i, (a, b) in
            enumerate(zip(losses, val_losses, strict=True))]


MOVING = [_layer(grad_norm=1.0, update_ratio=1e-3)] * 4
FANS = [[4, 8], [8, 8], [8, 8], [8, 3]]  # _cfg's net on _splits_for's data


def _curve(accs, epochs=()):
    """A record of probes with the probe batch's accuracy (diagnose/dynamics.py's rules read it)."""
    record = _record(MOVING, epochs=epochs, probes=len(accs))
    for probe, acc, i in zip(record["probes"], accs, range(len(accs)), strict=True):
        probe.update(acc=acc, loss=2.3 / (i + 1))
    return record


def _weights(spreads, variances):
    """A record of two probes with each layer's unit spread and weight norm (diagnose/weights.py's rules)."""
    record = {**_record(MOVING, probes=2), "fans": FANS}
    for probe in record["probes"]:
        probe["acc"] = 0.5
        for layer, spread, var, (a, b) in zip(probe["layers"], spreads, variances, FANS, strict=True):
            layer.update(unit_spread=spread, weight_norm=math.sqrt(var * a * b))
    return record


def _shrinking(factor):
    """A record of two probes whose kernels' squared norms fall `factor`-fold from the first to the last."""
    record = _record(MOVING, probes=2)
    for probe, norm in zip(record["probes"], (1.0, 1.0 / math.sqrt(factor)), strict=True):
        for layer in probe["layers"]:
            layer["weight_norm"] = norm
    return record


ZIGZAG = [0.1 + 0.04 * i for i in range(10)] + [0.8 + (0.1 if i % 2 else 0.0) for i in range(10)]
HE = [2 / 4, 2 / 8, 2 / 8, 2 / 11]  # each layer's variance under he_normal (glorot for the output)
# rule -> (config overrides, a probe record on which the rule fires with that config's context)
TRIGGERS = {
    "vanishing_gradients": (["model.activation=sigmoid", "model.init=glorot_uniform"],
                            _record([_layer(grad_norm=g, update_ratio=1e-3) for g in (1e-5, 1e-3, 1.0, 1.0)])),
    "exploding_gradients": (["model.activation=relu"],
                            _record([_layer(grad_norm=g, update_ratio=1e-3) for g in (500.0, 10.0, 1.0, 1.0)])),
    "saturation": (["model.activation=sigmoid", "model.init=glorot_uniform"],
                   _record([_layer(grad_norm=1.0, saturated=0.9, update_ratio=1e-3)] * 4)),
    "dying_relu": (["model.activation=relu"], _record([_layer(grad_norm=1.0, dead=0.9, update_ratio=1e-3)] * 4)),
    "lr_too_high": (["optimizer.name=sgd", "optimizer.lr=3.0"],
                    _record([_layer(grad_norm=1.0, update_ratio=0.5)] * 4)),
    "lr_too_low": (["optimizer.name=sgd", "optimizer.lr=1e-7"],
                   _record([_layer(grad_norm=1.0, update_ratio=1e-9)] * 4, epochs=_epochs([1.0, 1.0], [1.0, 1.0]))),
    "broken_self_normalization": (["model.activation=selu", "model.init=lecun_normal", "model.dropout=0.2"],
                                  _record(MOVING)),
    "overfitting": ([], _record(MOVING, epochs=_epochs([1.0, 0.8, 0.6, 0.5, 0.4, 0.3],
                                                        [1.0, 0.7, 0.8, 0.9, 1.0, 1.1]))),
    "underfitting": ([], _record(MOVING, epochs=_epochs([1.0, 0.99, 0.98], [1.0, 0.99, 0.98]))),
    "unnormalised_inputs": (["data.standardize=false"], _record(MOVING, input_mean=100.0)),
    "frozen_layer": ([], _record([_layer(grad_norm=1.0, update_ratio=0.0), *MOVING[1:]])),
    "not_learning": (["optimizer.name=sgd"], _record(MOVING, epochs=_epochs([1.1, 1.1], [1.1, 1.1], val_acc=0.33))),
    # the rules of diagnose/dynamics.py and diagnose/weights.py (another branch of issue 19)
    "oscillating_accuracy": (["optimizer.name=sgd", "optimizer.lr=0.1", "train.batch_size=16"], _curve(ZIGZAG)),
    "slow_convergence": (["optimizer.name=sgd", "optimizer.lr=1e-4"], _curve(
        [0.1] * 5, [{"epoch": e, "loss": 1.0, "acc": 0.1 + 0.008 * e, "val_acc": 0.1 + 0.008 * e}
                    for e in range(1, 5)])),
    "batch_size_for_lr": (["optimizer.name=sgd", "optimizer.lr=3.0", "train.batch_size=10"], _curve([0.1] * 3)),
    "weights_too_uniform": (["model.activation=relu"], _weights([1.0, 0.0, 1.0, 0.9], HE)),
    "poor_weight_scale": (["model.activation=relu"], _weights([1.0] * 4, [HE[0], HE[1] * 12, *HE[2:]])),
    # the rules of diagnose/regularization.py
    "too_much_dropout": (["model.dropout=0.8"], _record(MOVING, epochs=[{"epoch": 1, "loss": 1.0, "acc": 0.4,
                                                                        "val_acc": 0.66}])),
    "over_regularization": (['regularization.penalty={name="l2", l2=0.1}'], _shrinking(100.0)),
}


@pytest.mark.parametrize("name", RULES.names())
def test_each_rules_remedies_validate_and_leave_no_static_finding(name):
    if name not in TRIGGERS:
        pytest.skip(f"no triggering case for rule {name!r}: add one to TRIGGERS")
    overrides, record = TRIGGERS[name]
    cfg = _cfg(*overrides)
    finding = RULES.build(name, record, run_context(cfg, _splits_for(cfg)))
    assert finding is not None and finding.remedies, f"{name} does not fire on its triggering case"
    for overrides in finding.remedies:
        remedy = apply_remedy(cfg, overrides, _splits_for)
        assert remedy.coherent, (overrides, remedy.problems)
        left = static_findings(remedy.config, _splits_for(remedy.config))
        assert left == [], (overrides, [f.summary for f in left])


@pytest.mark.parametrize("name", RULES.names())
def test_every_rule_reads_the_static_record_and_a_clean_config_has_no_static_finding(name):
    """`static_findings` runs every rule on a record with no layer and one probe: each must accept it."""
    cfg = _cfg("model.activation=relu", "model.init=he_normal")
    splits = _splits_for(cfg)
    context = run_context(cfg, splits)
    assert RULES.build(name, static_record(splits, context), context) is None
