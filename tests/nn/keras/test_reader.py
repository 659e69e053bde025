"""Both Keras file layouts read to the same layers and weights; files that are no Sequential model are refused."""

from __future__ import annotations

import io
import json
import zipfile

import h5py
import numpy as np
import pytest
from tests.oracles.keras_sequential import write_h5, write_keras

from deepfit.errors import CheckpointError
from deepfit.nn.keras import read_keras
from deepfit.nn.keras.reader import snake_case

RNG = np.random.default_rng(0)
LAYERS = [
    ("InputLayer", {"batch_shape": [None, 2, 3]}, []),
    ("Flatten", {}, []),
    ("Dense", {"units": 4, "activation": "relu"}, [RNG.normal(size=(6, 4)), RNG.normal(size=4)]),
    ("BatchNormalization", {}, [RNG.normal(size=4) for _ in range(4)]),
    ("Dense", {"units": 2, "activation": "softmax"}, [RNG.normal(size=(4, 2)), RNG.normal(size=2)]),
]


@pytest.mark.parametrize("writer", [write_h5, write_keras], ids=["h5", "keras"])
def test_both_layouts_read_to_the_same_layers(tmp_path, writer):
    keras = read_keras(writer(tmp_path / "m.bin", LAYERS))
    assert keras.input_shape == (2, 3)
    assert [(la.name, la.class_name) for la in keras.layers] == [
        ("input_layer", "InputLayer"), ("flatten", "Flatten"), ("dense", "Dense"),
        ("batch_normalization", "BatchNormalization"), ("dense_1", "Dense")]
    for layer, (_, _, weights) in zip(keras.layers, LAYERS, strict=True):
        assert len(layer.weights) == len(weights)
        for got, want in zip(layer.weights, weights, strict=True):
            np.testing.assert_array_equal(got, want.astype(np.float32))


def test_legacy_weight_names_are_kept(tmp_path):
    keras = read_keras(write_h5(tmp_path / "m.h5", LAYERS))
    assert keras.format == "h5" and keras.keras_version == "2.15.0"
    assert keras.layers[3].weight_names == [f"batch_normalization/{r}:0" for r in
                                            ("gamma", "beta", "moving_mean", "moving_variance")]


def test_keras_2_13_checkpoint_dependencies_root_is_read(tmp_path):
    path = write_keras(tmp_path / "m.keras", LAYERS)
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    buffer = io.BytesIO()
    with h5py.File(io.BytesIO(files["model.weights.h5"]), "r") as src, h5py.File(buffer, "w") as dst:
        src.copy("layers", dst, name="_layer_checkpoint_dependencies")
    files["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)
    np.testing.assert_array_equal(read_keras(path).layers[2].weights[0], LAYERS[2][2][0].astype(np.float32))


def test_a_functional_model_is_refused(tmp_path):
    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Functional", "config": {"layers": []}})
    with pytest.raises(CheckpointError, match="a Keras Functional model; deepfit imports Sequential models only"):
        read_keras(path)


def test_a_weights_only_file_is_refused(tmp_path):
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f.create_group("dense")
    with pytest.raises(CheckpointError, match="without a model_config attribute"):
        read_keras(path)


def test_a_zip_without_weights_is_refused(tmp_path):
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", "{}")
    with pytest.raises(CheckpointError, match=r"zip without model\.weights\.h5"):
        read_keras(path)


@pytest.mark.parametrize(("cls", "key"), [("BatchNormalization", "batch_normalization"), ("Dense", "dense"),
                                          ("PReLU", "p_re_lu"), ("LeakyReLU", "leaky_re_lu")])
def test_snake_case_matches_keras_container_names(cls, key):
    assert snake_case(cls) == key
