"""Every importable Keras layer class reads from a minimal config; unknown classes and settings are refused."""

from __future__ import annotations

import numpy as np
import pytest

from deepfit.errors import CheckpointError
from deepfit.nn.keras import KERAS_LAYERS, KerasLayer, read_piece

MINIMAL = {
    "InputLayer": ({"batch_shape": [None, 3]}, [], "input"),
    "Flatten": ({}, [], "flatten"),
    "Dense": ({"units": 2}, [np.ones((3, 2)), np.zeros(2)], "dense"),
    "BatchNormalization": ({}, [np.ones(3)] * 4, "norm"),
    "Dropout": ({"rate": 0.5}, [], "dropout"),
    "AlphaDropout": ({"rate": 0.5}, [], "dropout"),
    "Activation": ({"activation": "tanh"}, [], "activation"),
    "ReLU": ({}, [], "activation"),
    "LeakyReLU": ({"negative_slope": 0.1}, [], "activation"),
    "ELU": ({"alpha": 0.5}, [], "activation"),
    "PReLU": ({}, [np.full(3, 0.25)], "activation"),
    "Softmax": ({}, [], "activation"),
}


def test_every_registered_class_has_a_minimal_case():
    assert sorted(MINIMAL) == KERAS_LAYERS.names()


@pytest.mark.parametrize("cls", KERAS_LAYERS.names())
def test_each_class_reads_to_its_kind(cls):
    config, weights, kind = MINIMAL[cls]
    assert read_piece(KerasLayer("x", cls, config, weights)).kind == kind


@pytest.mark.parametrize(("cls", "config", "value"), [
    ("LeakyReLU", {"alpha": 0.25}, {"name": "leaky_relu", "alpha": 0.25}),  # Keras 2's spelling
    ("LeakyReLU", {}, {"name": "leaky_relu", "alpha": 0.3}),  # Keras's default slope
    ("ReLU", {"negative_slope": 0.1}, {"name": "leaky_relu", "alpha": 0.1}),
    ("Activation", {"activation": "silu"}, "swish"),
    ("Activation", {"activation": {"module": "keras.activations", "config": "gelu"}}, "gelu"),
])
def test_activation_layers_keep_their_parameters(cls, config, value):
    assert read_piece(KerasLayer("a", cls, config, [])).activation == value


@pytest.mark.parametrize(("cls", "config", "message"), [
    ("ReLU", {"max_value": 6.0}, r"'a' \(ReLU\): max_value=6.0 cannot be imported"),
    ("BatchNormalization", {"renorm": True}, r"'a' \(BatchNormalization\): renorm=True cannot be imported"),
    ("Dropout", {"noise_shape": [None, 1]}, r"'a' \(Dropout\): noise_shape=\[None, 1\] cannot be imported"),
    ("GaussianNoise", {}, r"'a' \(GaussianNoise\): this class cannot be imported; supported: Activation"),
])
def test_settings_without_a_deepfit_counterpart_are_refused(cls, config, message):
    with pytest.raises(CheckpointError, match=message):
        read_piece(KerasLayer("a", cls, config, [np.ones(3)] * 4))
