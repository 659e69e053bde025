"""Imported Keras nets compute what Keras computes: outputs against Keras's equations in numpy, both formats."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.oracles.keras_sequential import forward, write_h5, write_keras

from deepfit.errors import CheckpointError
from deepfit.nn.keras import load_keras

WRITERS = {"h5": write_h5, "keras": write_keras}


def _bn(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """gamma, beta, moving_mean, moving_variance of a trained-looking batch norm."""
    return [rng.uniform(0.5, 1.5, n), rng.normal(0, 0.5, n), rng.normal(0, 1, n), rng.uniform(0.2, 3.0, n)]


def _dense(rng: np.random.Generator, n_in: int, n_out: int, bias: bool = True) -> list[np.ndarray]:
    w = [rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out))]  # Keras's [in, out] layout
    return [*w, rng.normal(0, 0.3, n_out)] if bias else w


def _models() -> dict[str, list]:
    rng = np.random.default_rng(0)
    bn = {"epsilon": 1e-3, "momentum": 0.99}
    return {
        # the chapter's model: Dense(activation) -> BN -> Dropout, softmax head
        "bn_after": [
            ("InputLayer", {"batch_shape": [None, 4, 3]}, []),
            ("Flatten", {}, []),
            ("Dense", {"units": 8, "activation": "relu"}, _dense(rng, 12, 8)),
            ("BatchNormalization", bn, _bn(rng, 8)),
            ("Dropout", {"rate": 0.2}, []),
            ("Dense", {"units": 6, "activation": "relu"}, _dense(rng, 8, 6)),
            ("BatchNormalization", bn, _bn(rng, 6)),
            ("Dropout", {"rate": 0.2}, []),
            ("Dense", {"units": 5, "activation": "softmax"}, _dense(rng, 6, 5)),
        ],
        # BN before the activation, with a Dense bias that deepfit folds into the moving mean
        "bn_before": [
            ("InputLayer", {"batch_shape": [None, 10]}, []),
            ("Dense", {"units": 7}, _dense(rng, 10, 7)),
            ("BatchNormalization", bn, _bn(rng, 7)),
            ("Activation", {"activation": "elu"}, []),
            ("Dense", {"units": 5}, _dense(rng, 7, 5)),
            ("BatchNormalization", bn, _bn(rng, 5)),
            ("Activation", {"activation": "elu"}, []),
            ("Dense", {"units": 3}, _dense(rng, 5, 3)),
            ("Activation", {"activation": "softmax"}, []),
        ],
        # an input BN layer, SELU with alpha dropout, a sigmoid head
        "input_bn_selu": [
            ("InputLayer", {"batch_shape": [None, 6]}, []),
            ("BatchNormalization", {"epsilon": 1e-2, "momentum": 0.9, "center": False}, [
                rng.uniform(0.5, 1.5, 6), rng.normal(0, 1, 6), rng.uniform(0.5, 2, 6)]),
            ("Dense", {"units": 9, "activation": "selu"}, _dense(rng, 6, 9)),
            ("AlphaDropout", {"rate": 0.1}, []),
            ("Dense", {"units": 9, "activation": "selu"}, _dense(rng, 9, 9)),
            ("AlphaDropout", {"rate": 0.1}, []),
            ("Dense", {"units": 1, "activation": "sigmoid"}, _dense(rng, 9, 1)),
        ],
        # activation layers with parameters, no bias in the first layer, a regression head
        "prelu_regression": [
            ("InputLayer", {"batch_shape": [None, 5]}, []),
            ("Dense", {"units": 4, "use_bias": False}, _dense(rng, 5, 4, bias=False)),
            ("PReLU", {"shared_axes": None}, [rng.uniform(0, 0.5, 4)]),
            ("Dense", {"units": 4}, _dense(rng, 4, 4)),
            ("PReLU", {"shared_axes": None}, [rng.uniform(0, 0.5, 4)]),
            ("Dense", {"units": 1}, _dense(rng, 4, 1)),
        ],
    }


MODELS = _models()


def _outputs(model: torch.nn.Module, x: np.ndarray, head: str) -> np.ndarray:
    z = model(torch.from_numpy(x.astype(np.float32))).double()
    return {"cross_entropy": z.softmax(1), "binary_cross_entropy": z.sigmoid(), "mse": z}[head].detach().numpy()


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_imported_net_outputs_equal_keras_equations(tmp_path, name, fmt):
    layers = MODELS[name]
    path = WRITERS[fmt](tmp_path / f"{name}.{fmt}", layers)
    model, converted = load_keras(path)
    shape = converted.spec.input_shape
    x = np.random.default_rng(1).normal(0, 1.5, (64, *shape))
    np.testing.assert_allclose(_outputs(model, x, converted.loss), forward(layers, x), rtol=1e-5, atol=1e-6)


def test_batchnorm_conventions_are_converted(tmp_path):
    layers = MODELS["bn_after"]
    model, converted = load_keras(write_keras(tmp_path / "m.keras", layers))
    spec = converted.spec
    assert (spec.norm, spec.norm_momentum, spec.norm_eps, spec.norm_running_var) == ("after", 0.01, 1e-3, "biased")
    assert spec.hidden == [8, 6] and spec.dropout == 0.2 and spec.input_shape == (4, 3)
    bn = model.hidden1.norm
    assert (bn.momentum, bn.eps) == (0.01, 1e-3)
    np.testing.assert_array_equal(bn.running_var.numpy(), layers[3][2][3].astype(np.float32))  # unchanged
    np.testing.assert_array_equal(model.hidden1.linear.weight.detach().numpy(), layers[2][2][0].T.astype(np.float32))


def test_dense_bias_before_batchnorm_folds_into_the_moving_mean(tmp_path):
    layers = MODELS["bn_before"]
    model, converted = load_keras(write_h5(tmp_path / "m.h5", layers))
    assert converted.spec.norm == "before" and model.hidden1.linear.bias is None
    kernel_bias, mean = layers[1][2][1], layers[2][2][2]
    np.testing.assert_allclose(model.hidden1.norm.running_mean.numpy(), mean - kernel_bias, rtol=1e-6)


def test_layer_map_names_each_weighted_keras_layer(tmp_path):
    _, converted = load_keras(write_h5(tmp_path / "m.h5", MODELS["bn_after"]))
    assert converted.layer_map == {"dense": "hidden1.linear", "batch_normalization": "hidden1.norm",
                                   "dense_1": "hidden2.linear", "batch_normalization_1": "hidden2.norm",
                                   "dense_2": "output"}


def _with(layers: list, index: int, layer: tuple) -> list:
    return [*layers[:index], layer, *layers[index + 1:]]


BAD = [
    ("a convolution", _with(MODELS["bn_after"], 1, ("Conv2D", {"filters": 3}, [])),
     r"layer 'conv2d' \(Conv2D\): this class cannot be imported"),
    ("two activations", _with(MODELS["bn_after"], 5, ("Dense", {"units": 6, "activation": "tanh"},
                                                      MODELS["bn_after"][5][2])),
     r"layer 'dense_1' \(Dense\): activation 'tanh' .* where the layers below have 'relu'"),
    ("an unknown activation", _with(MODELS["bn_before"], 3, ("Activation", {"activation": "hard_silu"}, [])),
     r"layer 'activation' \(Activation\): activation 'hard_silu' cannot be imported"),
    ("dropout before batch norm", [*MODELS["bn_after"][:3], MODELS["bn_after"][4], MODELS["bn_after"][3],
                                   *MODELS["bn_after"][5:]],
     r"Dense, Dropout, BatchNormalization cannot be one deepfit dense block"),
    ("a relu head", _with(MODELS["bn_after"], 8, ("Dense", {"units": 5, "activation": "relu"},
                                                  MODELS["bn_after"][8][2])),
     r"layer 'dense_2' \(Dense\): output activation 'relu'; expected softmax, sigmoid or linear"),
    ("two epsilons", _with(MODELS["bn_after"], 6, ("BatchNormalization", {"epsilon": 1e-5},
                                                   MODELS["bn_after"][6][2])),
     r"'batch_normalization_1' \(BatchNormalization\): epsilon 1e-05"),
]


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize(("what", "layers", "message"), BAD, ids=[b[0] for b in BAD])
def test_unsupported_models_are_refused_naming_the_layer(tmp_path, fmt, what, layers, message):
    path = WRITERS[fmt](tmp_path / f"bad.{fmt}", layers)
    with pytest.raises(CheckpointError, match=message):
        load_keras(path)


def test_missing_weights_are_refused_naming_the_layer(tmp_path):
    layers = _with(MODELS["bn_after"], 2, ("Dense", {"units": 8, "activation": "relu"}, []))
    with pytest.raises(CheckpointError, match=r"layer 'dense' \(Dense\): expected 2 weight arrays \(kernel, bias\), "
                                              r"found 0"):
        load_keras(write_keras(tmp_path / "m.keras", layers))
