"""Kernels by name and per-layer settings matched to them (optim/kernels.py)."""

from __future__ import annotations

import pytest
from torch import nn

from deepfit.errors import ConfigError
from deepfit.optim.kernels import layer_settings, named_linears


def test_named_linears_lists_every_linear_bottom_first_and_nothing_else():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Sequential(nn.ReLU(), nn.Linear(3, 4)), nn.Linear(4, 1))
    assert [n for n, _ in named_linears(net)] == ["0", "2.1", "3"]
    assert named_linears(net)[1][1] is net[2][1]


NAMES = ["hidden1.linear", "hidden10.linear", "hidden2.linear", "output"]


def test_a_key_governs_the_layer_it_names_or_prefixes_up_to_a_dot_and_the_longest_wins():
    out = layer_settings(NAMES, "d", {"hidden1": "a", "hidden1.linear": "b", "output": "c"}, field="penalty.layers")
    # "hidden1" is not a prefix of "hidden10" (no dot after it)
    assert out == {"hidden1.linear": "b", "hidden10.linear": "d", "hidden2.linear": "d", "output": "c"}


def test_without_layers_every_layer_takes_the_default():
    assert layer_settings(NAMES, 0.5, None, field="x") == dict.fromkeys(NAMES, 0.5)


def test_a_key_that_names_no_layer_is_refused_with_the_field_and_the_valid_names():
    with pytest.raises(ConfigError, match=r"penalty.layers: 'hidden3' names no layer; valid: hidden1.linear, "
                                          r"hidden10.linear, hidden2.linear, output"):
        layer_settings(NAMES, None, {"hidden3": 1}, field="penalty.layers")
    with pytest.raises(ConfigError, match="'hidden' names no layer"):
        layer_settings(NAMES, None, {"hidden": 1}, field="f")
