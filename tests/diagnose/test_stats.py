"""The doctor's per-layer statistics: the units' spread, the probe batch's accuracy and the layers' fans."""

from __future__ import annotations

import math

import pytest
import torch

from deepfit.diagnose import DoctorProbe, layer_statistics
from deepfit.diagnose.stats import unit_spread
from deepfit.nn import ModelSpec, build_model
from deepfit.train import objective_for


def test_unit_spread_is_about_one_for_random_rows_and_zero_for_identical_or_zero_rows():
    torch.manual_seed(0)
    assert unit_spread(torch.randn(100, 50)).item() == pytest.approx(math.sqrt(1 - 1 / 100), abs=0.02)
    assert unit_spread(torch.randn(1, 50).repeat(100, 1)).item() == pytest.approx(0.0, abs=1e-6)
    assert unit_spread(torch.zeros(100, 50)).item() == 0.0


def test_layer_statistics_record_the_probe_accuracy_and_each_layer_spread():
    torch.manual_seed(0)
    model = build_model(ModelSpec((6,), 3, hidden=[8], init="zeros"))
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    stats, _ = layer_statistics(model, objective_for("auto", "multiclass"), x, y)
    with torch.no_grad():
        expected = (model(x).argmax(1) == y).float().mean().item()
    assert stats["acc"] == pytest.approx(expected)
    assert stats["layers"][0]["unit_spread"] == 0.0  # zeros: every unit the same
    single = build_model(ModelSpec((6,), 1, hidden=[8]))
    regression, _ = layer_statistics(single, objective_for("auto", "regression"), x, torch.randn(32))
    assert math.isnan(regression["acc"])


def test_doctor_probe_records_each_layer_fans():
    model = build_model(ModelSpec((6,), 3, hidden=[8, 5]))

    class View:
        objective = objective_for("auto", "multiclass")
        lr = 0.01

    View.model = model
    probe = DoctorProbe()
    probe.on_probe(View(), {"step": 0, "epoch": 0, "x": torch.randn(16, 6), "y": torch.randint(0, 3, (16,))})
    assert probe.record["fans"] == [[6, 8], [8, 5], [5, 3]]
