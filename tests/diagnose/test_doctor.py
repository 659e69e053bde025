"""The doctor end to end: a catalog of sick and healthy nets on Fashion-MNIST subsets, each with its diagnosis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from deepfit.cli.main import main
from deepfit.config import deep_merge, load_config
from deepfit.data import from_arrays
from deepfit.diagnose import DoctorProbe, diagnose, diagnose_record, doctor_run
from deepfit.errors import ConfigError
from deepfit.nn import ModelSpec, build_model
from deepfit.presets import PRESETS
from deepfit.run import load_splits
from deepfit.train import Trainer, UpdateRule, objective_for

FMNIST = Path("/usr/share/datasets/fashion-mnist")
needs_data = pytest.mark.skipif(not FMNIST.exists(),
                                reason="needs `apt-get install dataset-fashion-mnist` (make test does it)")

SUBSET = ["data.subset=2000", "data.valid=500", "train.batch_size=32"]

# name -> (overrides, the findings it must produce, steps)
CATALOG = {
    "sigmoid_normal": ([*SUBSET, "model.hidden=[100, 100, 100, 100, 100, 100, 100, 100]", "model.activation=sigmoid",
                        'model.init={name="random_normal", stddev=1.0}', "optimizer.name=sgd", "optimizer.lr=0.01"],
                       {"saturation"}, 200),
    "sigmoid_glorot": ([*SUBSET, "model.hidden=[100, 100, 100, 100, 100, 100, 100, 100, 100, 100]",
                        "model.activation=sigmoid", "model.init=glorot_uniform", "optimizer.name=sgd",
                        "optimizer.lr=0.01"], {"vanishing_gradients"}, 200),
    "relu_lr_too_high": ([*SUBSET, "model.hidden=[300, 100]", "optimizer.name=sgd", "optimizer.lr=3.0"],
                         {"lr_too_high"}, 200),
    "tiny_lr": ([*SUBSET, "model.hidden=[300, 100]", "optimizer.name=sgd", "optimizer.lr=1e-7"],
                {"lr_too_low"}, 200),
    "selu_dropout_raw_inputs": ([*SUBSET, "model.hidden=[100, 100, 100]", "model.activation=selu",
                                 "model.init=lecun_normal", "model.dropout=0.2", "data.standardize=false"],
                                {"broken_self_normalization"}, 100),
    "overtrained_small_subset": (["data.subset=300", "data.valid=500", "model.hidden=[300, 100]",
                                  "optimizer.lr=1e-3"], {"overfitting"}, 400),
}
HEALTHY = ["reference", "guidelines"]


def _cfg(overrides, preset=None):
    base = PRESETS.build(preset) if preset else {}
    return load_config(None, [*overrides, "train.device=cpu", "train.engine=eager"],
                       base=deep_merge(base, {"train": {"seed": 1}}))


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("case", list(CATALOG))
def test_each_sick_net_gets_its_diagnosis(case):
    overrides, expected, steps = CATALOG[case]
    diagnosis = doctor_run(_cfg(overrides), steps=steps)
    names = {f.name for f in diagnosis.findings}
    assert expected <= names, f"{case}: found {sorted(names)}, expected {sorted(expected)}"


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("preset", HEALTHY)
def test_healthy_nets_come_out_clean(preset):
    diagnosis = doctor_run(_cfg(SUBSET, preset=preset), steps=200)
    assert diagnosis.findings == [], [f.summary for f in diagnosis.findings]


@needs_data
@pytest.mark.slow
def test_a_relu_net_with_strongly_negative_biases_has_dead_units():
    cfg = _cfg(SUBSET)
    splits = load_splits(cfg)
    torch.manual_seed(0)
    model = build_model(ModelSpec(splits.input_shape, 10, hidden=[100, 100]))
    with torch.no_grad():
        model.hidden1.linear.bias.fill_(-20.0)
    probe = DoctorProbe()
    trainer = Trainer(model, objective_for("auto", "multiclass"), UpdateRule("sgd", {"lr": 0.01}),
                      callbacks=[probe], probe_every=20)
    trainer.fit(splits.train, splits.valid, epochs=2)
    assert "dying_relu" in {f.name for f in diagnose(trainer)}
    assert probe.record["probes"][-1]["layers"][0]["dead"] > 0.9


def test_bad_input_is_a_clear_error():
    with pytest.raises(ConfigError, match="classification runs only"):
        doctor_run(load_config(None, ["data.task=regression"]), steps=10, splits=_tiny(regression=True))
    with pytest.raises(ConfigError, match="at least one hidden layer"):
        doctor_run(load_config(None, ["model.hidden=[]"]), steps=10, splits=_tiny())
    trainer = Trainer(build_model(ModelSpec((4,), 3, hidden=[5])), objective_for("auto", "multiclass"),
                      UpdateRule("sgd"))
    with pytest.raises(ConfigError, match="no doctor probes"):
        diagnose(trainer)
    assert diagnose_record({"probes": []}, {}) == []


def _tiny(regression=False):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 4, generator=g).numpy()
    y = (x[:, 0] if regression else (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0).astype("int64"))
    return from_arrays(x, y, valid=50, task="regression" if regression else "multiclass")


@needs_data
@pytest.mark.slow
def test_doctor_command_writes_its_diagnosis_and_the_repair_path(tmp_path, capsys):
    overrides = CATALOG["sigmoid_glorot"][0]
    args = ["doctor", "--out", str(tmp_path), "--steps", "120", "--quiet", "--fix", "--max-rounds", "1", "--apply",
            str(tmp_path / "a.toml"), "--device", "cpu"] + [item for o in overrides for item in ("--set", o)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "vanishing_gradients" in out and "round 1, vanishing_gradients: --set model.activation=relu" in out
    (run,) = tmp_path.glob("doctor-*")
    diagnosis = json.loads((run / "diagnosis.json").read_text())
    assert diagnosis["findings"][0]["name"] == "vanishing_gradients"
    repair = diagnosis["repair"]
    assert repair["attempts"][0]["kept"] and repair["outcome"] == "healthy", repair["reason"]
    assert len(repair["initial_accuracy"]) == 2 and min(repair["final_accuracy"]) > max(repair["initial_accuracy"])
    page = (run / "doctor.html").read_text()
    assert "Repair path" in page and "Run settings" in page and "--set model.norm=before" in page  # every remedy
    assert "activation" in (tmp_path / "a.toml").read_text()


def test_a_net_at_chance_is_not_learning_whatever_the_other_rules_say():
    cfg = load_config(None, ["model.hidden=[8]", "optimizer.name=sgd", "optimizer.lr=1e-9", "train.device=cpu",
                             "train.engine=eager"])
    diagnosis = doctor_run(cfg, steps=20, splits=_tiny())
    assert "not_learning" in {f.name for f in diagnosis.findings} and not diagnosis.healthy
    frequencies = diagnosis.context["class_frequencies"]  # each rounded to 6 digits: the sum within 3 x 5e-7 of 1
    assert diagnosis.context["classes"] == 3 and sum(frequencies) == pytest.approx(1, abs=2e-6)


@pytest.mark.slow
def test_train_with_diagnose_prints_findings_once_and_reports_them(tmp_path, capsys, blobs_npz):
    args = ["train", "--data", str(blobs_npz), "--set", "data.valid=100", "--set", "model.hidden=[16]",
            "--set", "optimizer.name=sgd", "--set", "optimizer.lr=1e-7", "--epochs", "3", "--out", str(tmp_path / "r"),
            "--quiet", "--diagnose", "--set", "train.probe_every=5"]
    assert main(args) == 0
    out = capsys.readouterr().out
    (run,) = (tmp_path / "r").iterdir()
    assert main(["doctor", str(run)]) == 0 and "lr_too_low" in capsys.readouterr().out
    names = [f["name"] for f in json.loads((run / "diagnosis.json").read_text())["findings"]]
    assert "lr_too_low" in names
    assert out.count("doctor, epoch") == len(names)  # each finding once, when it first appeared
    assert all(out.count(f": {name}: ") == 1 for name in names)
    assert "Doctor" in (run / "report.html").read_text()
    (run / "diagnosis.json").unlink()
    assert main(["doctor", str(run)]) == 2
    assert "has no doctor probes" in capsys.readouterr().err
