"""The run layer's handling of bad input: the SELU check's inputs, the resume checks, the run directory."""

from __future__ import annotations

import re

import numpy as np
import pytest

from deepfit.config import config_from_dict
from deepfit.data import from_arrays
from deepfit.nn import build_model
from deepfit.run.setup import model_spec
from deepfit.run.staged import restandardize
from deepfit.run.training import config_changes, self_normalization_violations

SELU = {"model": {"hidden": [8], "activation": "selu", "init": "lecun_normal", "dropout": 0.0}}


def _shifted(n=300, features=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(3.0, 5.0, size=(n, features)).astype(np.float32)
    x[:, :2] = 7.0  # constant features: 0 after standardisation, which lowers the overall std
    return x, np.arange(n) % 3


def _violations(splits, **sections):
    cfg = config_from_dict({**SELU, **sections})
    spec = model_spec(cfg, splits)
    return self_normalization_violations(build_model(spec), spec, splits, cfg)


def test_raw_inputs_are_reported_with_the_measured_values_and_the_threshold():
    x, y = _shifted()
    (violation,) = _violations(from_arrays(x, y, valid=0, test=0, standardize=False), data={"standardize": False})
    assert violation.condition == "standardised inputs"
    assert violation.found == "the inputs' overall mean is 4.19 and std 4.56, expected within 0.15 of 0 and 1"
    assert violation.fix == "standardise each feature (data.standardize = true)"


def test_inputs_standardised_with_their_own_statistics_are_not_reported():
    x, y = _shifted()
    splits = from_arrays(x, y, valid=0)
    assert splits.train.x.std().item() < 0.85  # the measure the check used to warn on
    assert _violations(splits) == []


def test_a_transfer_runs_inputs_scaled_by_the_source_statistics_are_not_reported():
    x, y = _shifted()
    splits = from_arrays(x, y, valid=0)
    source = from_arrays(x * 0.5 - 1.0, y, valid=0)  # task A: other statistics
    scaled = restandardize(splits, source.mean, source.std)
    assert abs(scaled.train.x.mean().item()) > 0.15  # as task B's 200 images under task A's statistics
    assert _violations(scaled, transfer={"source": "unused"}) == []


def test_config_changes_name_each_key_but_not_the_settings_a_resume_may_change():
    saved = {"optimizer": {"name": "nadam", "lr": 0.001}, "model": {"hidden": [8]}, "train": {"epochs": 2}}
    now = {"optimizer": {"name": "sgd", "lr": 0.001}, "model": {"hidden": [9]}, "train": {"epochs": 5}}
    assert config_changes(saved, now) == [
        "model.hidden = [8], but config.toml now says [9]",
        "optimizer.name = 'nadam', but config.toml now says 'sgd'",
    ]
    assert config_changes({"optimizer": {"momentum": 0.9}}, {}) == [
        "optimizer.momentum = 0.9, but config.toml now says (unset)"
    ]


@pytest.mark.parametrize("valid", [None, 0])
def test_a_run_records_the_validation_split_it_used(valid):
    from deepfit.run import run_training

    x, y = _shifted(n=200)
    cfg = config_from_dict({**SELU, "data": {"valid": valid}, "train": {"epochs": 1, "engine": "eager"}})
    result = run_training(cfg, save=False, splits=from_arrays(x, y, valid=valid))
    expected = 20 if valid is None else 0
    assert result.config.data.valid == expected
    assert result.metrics["validation_split"]["samples"] == expected


def test_a_run_records_its_command_data_sizes_seed_date_and_why_it_stopped(monkeypatch):
    from deepfit.run import run_training

    monkeypatch.setattr("sys.argv", ["deepfit", "train", "--set", "model.hidden=[8, 8]"])
    x, y = _shifted(n=200)
    cfg = config_from_dict({**SELU, "data": {"valid": 50}, "train": {"epochs": 2, "engine": "eager", "seed": 3}})
    m = run_training(cfg, save=False, splits=from_arrays(x[:160], y[:160], x[160:], y[160:], valid=50)).metrics
    assert m["command"] == "deepfit train --set 'model.hidden=[8, 8]'"
    assert m["samples"] == {"train": 110, "valid": 50, "test": 40} and m["seed"] == 3
    assert m["stop"] == {"reason": "completed", "epoch": 2, "restored_epoch": 2}  # the best epoch was the last
    assert m["monitor"] == "val_loss" and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+", m["started"])


@pytest.mark.parametrize(("epochs", "patience", "stop"), [
    (6, 1, {"reason": "early_stopping", "epoch": 2, "restored_epoch": 1}),
    # patience 9 never fires in 3 epochs, but restore_best still puts the best epoch back at the end
    (3, 9, {"reason": "completed", "epoch": 3, "restored_epoch": 1}),
])
def test_how_a_run_ended_is_recorded_with_the_epoch_restored(epochs, patience, stop):
    from deepfit.run import run_training

    x, y = _shifted(n=200)
    # a min_delta of 100 is never met after epoch 1, so epoch 1 stays the best
    cfg = config_from_dict({**SELU, "data": {"valid": 50}, "train": {
        "epochs": epochs, "engine": "eager", "early_stopping": {"patience": patience, "min_delta": 100.0}}})
    m = run_training(cfg, save=False, splits=from_arrays(x, y, valid=50)).metrics
    assert m["stop"] == stop and m["best_epoch"] == 1


def test_a_torch_dataset_from_python_trains_and_its_run_records_where_the_data_came_from(tmp_path, capsys):
    import json

    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from deepfit.cli.main import main
    from deepfit.run import run_training

    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, size=(3, 6))
    y = np.arange(400) % 3
    x = (centers[y] + rng.normal(size=(400, 6))).astype(np.float32)
    train = DataLoader(TensorDataset(torch.from_numpy(x[:300]), torch.from_numpy(y[:300])), batch_size=64)
    test = TensorDataset(torch.from_numpy(x[300:]), torch.from_numpy(y[300:]))
    cfg = config_from_dict({"out": str(tmp_path), "model": {"hidden": [16]}, "optimizer": {"lr": 0.01},
                            "train": {"epochs": 3, "engine": "eager", "threads": 1}})
    result = run_training(cfg, data=train, test_data=test)
    assert result.metrics["test"]["acc"] > 0.9 and len(result.splits.valid) == 30  # data.valid auto: 10%
    assert 'name = "python"' in (result.run_dir / "config.toml").read_text()
    assert json.loads((result.run_dir / "metrics.json").read_text())["epochs"] == 3
    assert main(["evaluate", str(result.run_dir)]) == 2
    assert "data.name = 'python': this run's data was a Dataset or DataLoader given from Python" in (
        capsys.readouterr().err)


def test_a_result_in_a_notebook_shows_its_report_and_a_saved_run_writes_it(tmp_path):
    from deepfit.run import run_training

    x, y = _shifted(n=200)
    cfg = config_from_dict({**SELU, "out": str(tmp_path), "data": {"valid": 50},
                            "train": {"epochs": 1, "engine": "eager"}})
    splits = from_arrays(x[:160], y[:160], x[160:], y[160:], valid=50)
    memory = run_training(cfg, save=False, splits=splits)._repr_html_()
    assert "deepfit run (in memory)" in memory and "History (1 epochs)" in memory
    saved = run_training(cfg, splits=splits)
    shown = saved._repr_html_()
    assert (saved.run_dir / "report.html").is_file() and f"deepfit run {saved.run_dir.name}" in shown
