"""The repair loop: keep/reject on synthetic trials (the training replaced by chosen figures), and two small
cases end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import make_blobs

import deepfit.diagnose.repair as R
from deepfit.config import load_config
from deepfit.data import from_arrays
from deepfit.diagnose import Diagnosis, Finding, diagnose_record
from deepfit.diagnose.doctor import run_context
from deepfit.diagnose.repair import Trial, judge, repair
from deepfit.presets import PRESETS

FMNIST = Path("/usr/share/datasets/fashion-mnist")
THIRD = [1 / 3] * 3


def _splits_for(cfg):
    x, y = make_blobs(300, features=6, classes=3)
    return from_arrays(x, y, valid=100, standardize=cfg.data.standardize)


def _finding(name, severity="error", remedies=()):
    return Finding(name, severity, name, {}, [list(r) for r in remedies], "docs/doctor.md")


def _diagnosis(cfg, acc, findings=()):
    record = {"layers": [], "probes": [], "epochs": [{"epoch": 1, "loss": 1.0, "val_acc": acc, "val_loss": 1.0}]}
    return Diagnosis(list(findings), record, {"class_frequencies": THIRD}, cfg,
                     {"valid": {"acc": acc, "loss": 1.0 - acc}})


VANISHING = _finding("vanishing_gradients", remedies=[["model.activation=relu", "model.init=he_normal"],
                                                       ["model.norm=before"], ["optimizer.lr=0.1"]])


def _fake(monkeypatch, outcomes):
    """Replace the probe training: `outcomes(cfg)` -> (accuracy per seed, findings); records each config."""
    seen = []

    def probe(cfg, seeds, **_):
        accuracies, findings = outcomes(cfg)
        seen.append(cfg)
        return Trial(cfg, [_diagnosis(cfg, a, findings) for a in accuracies])

    monkeypatch.setattr(R, "probe", probe)
    return seen


def _cfg(*overrides):
    return load_config(None, ["model.hidden=[8, 8]", "model.activation=sigmoid", "train.device=cpu", *overrides])


def test_a_remedy_that_lifts_accuracy_beyond_noise_is_kept_and_the_loop_stops_healthy(monkeypatch):
    def outcomes(cfg):
        return ([0.80, 0.79], []) if cfg.model.activation == "relu" else ([0.33, 0.34], [VANISHING])

    _fake(monkeypatch, outcomes)
    result = repair(_cfg(), splits=_splits_for)
    assert result.outcome == "healthy" and result.final.healthy and not result.initial.healthy
    assert result.initial_accuracy == [0.33, 0.34] and result.final_accuracy == [0.80, 0.79]
    assert result.kept == [["model.activation=relu", "model.init=he_normal"]]
    (attempt,) = result.attempts
    assert attempt.kept and attempt.finding == "vanishing_gradients" and attempt.after_accuracy == [0.80, 0.79]
    assert result.config.model.activation == "relu"
    json.dumps(result.to_dict())  # JSON-ready


def test_a_gain_within_the_seeds_noise_is_rejected_and_the_next_remedy_tried(monkeypatch):
    def outcomes(cfg):
        if cfg.model.norm == "before":
            return [0.60, 0.62], []
        if cfg.model.activation == "relu":
            return [0.335, 0.345], [VANISHING]  # +0.005 on every seed: below MIN_GAIN
        return [0.33, 0.34], [VANISHING]

    _fake(monkeypatch, outcomes)
    result = repair(_cfg(), splits=_splits_for)
    first, second = result.attempts
    assert not first.kept and "within the noise" in first.reason
    assert second.kept and second.remedy == ["model.norm=before"]
    assert result.config.model.activation == "sigmoid"  # the rejected remedy was undone
    assert result.outcome == "healthy"


def test_the_noise_is_the_larger_range_over_seeds():
    cfg = _cfg()
    before = Trial(cfg, [_diagnosis(cfg, a) for a in (0.30, 0.50)])  # range 0.2
    assert not judge(before, Trial(cfg, [_diagnosis(cfg, a) for a in (0.45, 0.62)]))[0]  # mean gain 0.135
    assert judge(before, Trial(cfg, [_diagnosis(cfg, a) for a in (0.55, 0.72)]))[0]  # 0.235
    keep, why, _ = judge(before, Trial(cfg, [_diagnosis(cfg, a) for a in (0.95, 0.45)]))
    assert not keep and "every seed" in why  # a large mean gain, but one seed fell
    diverged = Trial(cfg, [_diagnosis(cfg, a) for a in (float("nan"), 0.1)])
    assert judge(diverged, Trial(cfg, [_diagnosis(cfg, a) for a in (0.6, 0.62)]))[0]
    assert not judge(before, diverged)[0]


def test_a_remedy_that_brings_a_new_error_is_rejected_however_much_it_helps(monkeypatch):
    dying = _finding("dying_relu")

    def outcomes(cfg):
        if cfg.model.activation == "relu":
            return [0.9, 0.9], [dying]
        return ([0.7, 0.71], []) if cfg.model.norm == "before" else ([0.33, 0.34], [VANISHING])

    _fake(monkeypatch, outcomes)
    result = repair(_cfg(), splits=_splits_for)
    assert not result.attempts[0].kept and result.attempts[0].new_errors == ["dying_relu"]
    assert result.kept == [["model.norm=before"]]


def test_the_loop_gives_up_and_says_why_when_no_remedy_helps(monkeypatch):
    seen = _fake(monkeypatch, lambda cfg: ([0.33, 0.34], [VANISHING]))
    result = repair(_cfg(), splits=_splits_for)
    assert result.outcome == "gave_up" and "round 1: no remedy of vanishing_gradients" in result.reason
    assert [a.kept for a in result.attempts] == [False] * 3
    assert result.final_accuracy == result.initial_accuracy and result.kept == []
    assert len(seen) == 4  # the initial trial and one per remedy


def test_the_loop_stops_after_max_rounds_with_each_kept_remedy(monkeypatch):
    def outcomes(cfg):  # each lr x 10 helps, and the underfitting warning stays
        lr = cfg.optimizer.lr
        return [0.4 + 3 * lr, 0.41 + 3 * lr], [_finding("underfitting", "warning", [[f"optimizer.lr={lr * 10:g}"]])]

    _fake(monkeypatch, outcomes)
    result = repair(_cfg("optimizer.lr=0.001"), splits=_splits_for, max_rounds=2)
    assert result.outcome == "gave_up" and "after 2 rounds" in result.reason
    assert result.kept == [["optimizer.lr=0.01"], ["optimizer.lr=0.1"]]
    assert result.overrides == ["optimizer.lr=0.1"]  # the later lr replaces the earlier


def test_an_incoherent_remedy_is_not_trained(monkeypatch):
    selu = _finding("exploding_gradients", remedies=[["model.norm=before"], ["optimizer.lr=0.0001"]])

    def outcomes(cfg):
        return ([0.8, 0.81], []) if cfg.optimizer.lr == 0.0001 else ([0.33, 0.34], [selu])

    seen = _fake(monkeypatch, outcomes)
    result = repair(_cfg("model.activation=selu", "model.init=lecun_normal"), splits=_splits_for)
    first = result.attempts[0]
    assert not first.kept and first.after_accuracy == [] and "broken_self_normalization" in first.reason
    assert len(seen) == 2 and result.outcome == "healthy"


def test_a_healthy_net_gets_no_attempt(monkeypatch):
    _fake(monkeypatch, lambda cfg: ([0.8, 0.82], []))
    result = repair(_cfg(), splits=_splits_for)
    assert result.attempts == [] and result.outcome == "healthy" and result.final_accuracy == [0.8, 0.82]


# -- end to end, small ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_repair_of_a_net_stuck_at_chance_with_a_tiny_lr_ends_healthy():
    cfg = load_config(None, ["model.hidden=[32, 32]", "optimizer.name=sgd", "optimizer.lr=1e-6", "train.device=cpu",
                             "train.engine=eager", "train.batch_size=32", "train.seed=1"])
    result = repair(cfg, steps=150, splits=_splits_for(cfg), max_rounds=2)
    assert "not_learning" in {f.name for f in result.initial.findings}
    assert result.outcome == "healthy", result.reason
    assert all(a > b + 0.2 for a, b in zip(result.final_accuracy, result.initial_accuracy, strict=True))
    assert len(result.initial_accuracy) == 2


@pytest.mark.slow
@pytest.mark.skipif(not FMNIST.exists(), reason="needs `apt-get install dataset-fashion-mnist` (make test does it)")
def test_repair_of_the_deep_sigmoid_net_with_alpha_dropout_ends_healthy_and_learning():
    """The issue's example, smaller: sigmoid on the SELU preset (LeCun init, alpha dropout); the kept remedy
    must bring standard dropout with ReLU, or the net stays at chance."""
    cfg = load_config(None, ["data.subset=1000", "data.valid=500", "model.activation=sigmoid", "optimizer.name=sgd",
                             "model.hidden=[64, 64, 64, 64, 64, 64, 64, 64]", "train.device=cpu", "train.engine=eager"],
                      base=PRESETS.build("guidelines_selu"))
    result = repair(cfg, steps=120, max_rounds=2)  # round 2: SGD's default lr converges too slowly in 120 steps
    assert not result.initial.healthy and max(result.initial_accuracy) < 0.2
    assert result.outcome == "healthy", result.reason
    assert "model.dropout_kind=standard" in result.overrides
    assert min(result.final_accuracy) > 0.4


def test_fix_run_applies_the_top_remedy_made_coherent_without_judging_it():
    cfg = load_config(None, ["model.hidden=[8]", "model.activation=selu", "model.init=lecun_normal", "train.device=cpu",
                             "train.engine=eager", "model.dropout=0.1", "model.dropout_kind=alpha"])
    top = _finding("vanishing_gradients", remedies=[["model.activation=relu"]])
    overrides, fixed = R.fix_run(_diagnosis(cfg, 0.3, [top]), steps=10, splits=_splits_for(cfg))
    assert overrides == ["model.activation=relu", "model.init=he_normal", "model.dropout_kind=standard"]
    assert fixed.config.model.dropout_kind == "standard"
    assert R.fix_run(_diagnosis(cfg, 0.8), steps=10) is None


def test_the_rules_read_synthetic_records_and_the_loop_follows_their_remedies(monkeypatch):
    """The training replaced by chosen probe records; the findings are the real rules' on them."""

    def record(acc, loss, grads):
        layers = [{"grad_norm": g, "update_ratio": 1e-3} for g in grads]
        probes = [{"step": 10 * i, "epoch": 1, "lr": 0.01, "steps_since": 10, "loss": loss, "input_mean": 0.0,
                   "input_std": 1.0, "layers": layers} for i in range(3)]
        epochs = [{"epoch": e, "loss": loss + 0.1 * (3 - e), "val_loss": loss, "val_acc": acc} for e in (1, 2, 3)]
        return {"layers": ["hidden1", "hidden2", "output"], "activations": [], "probes": probes, "epochs": epochs}

    def probe(cfg, seeds, *, splits_for, **_):
        context = run_context(cfg, splits_for(cfg))
        relu = cfg.model.activation == "relu"
        out = []
        for k, _seed in enumerate(seeds):
            acc = 0.85 + 0.01 * k if relu else 0.33
            rec = record(acc, 0.4 if relu else 1.1, (1.0, 1.0, 1.0) if relu else (1e-5, 1.0, 1.0))
            out.append(Diagnosis(diagnose_record(rec, context), rec, context, cfg,
                                 {"valid": {"acc": acc, "loss": rec["epochs"][-1]["val_loss"]}}))
        return Trial(cfg, out)

    monkeypatch.setattr(R, "probe", probe)
    result = repair(_cfg("model.init=glorot_uniform"), splits=_splits_for)
    assert [f.name for f in result.initial.findings][:2] == ["vanishing_gradients", "not_learning"]
    assert result.attempts[0].remedy == ["model.activation=relu", "model.init=he_normal"]
    assert result.outcome == "healthy" and result.final.findings == []
    assert result.final_accuracy == [0.85, 0.86]
