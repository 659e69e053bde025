"""An imported Keras model is a run directory: predict gives Keras's outputs, transfer and export read it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tomllib
from tests.conftest import make_blobs
from tests.oracles.keras_sequential import forward, write_h5, write_keras

from deepfit.cli.main import main
from deepfit.nn import load_model


def _layers(features: int = 12, classes: int = 3) -> list:
    rng = np.random.default_rng(3)
    return [
        ("InputLayer", {"batch_shape": [None, features]}, []),
        ("Dense", {"units": 16, "activation": "elu"}, [rng.normal(0, 0.3, (features, 16)), rng.normal(0, 0.1, 16)]),
        ("BatchNormalization", {}, [rng.uniform(0.5, 1.5, 16), rng.normal(0, 0.3, 16), rng.normal(0, 0.5, 16),
                                    rng.uniform(0.3, 2.0, 16)]),
        ("Dropout", {"rate": 0.3}, []),
        ("Dense", {"units": classes, "activation": "softmax"}, [rng.normal(0, 0.3, (16, classes)),
                                                                rng.normal(0, 0.1, classes)]),
    ]


@pytest.mark.parametrize("writer", [write_h5, write_keras], ids=["h5", "keras"])
def test_import_then_predict_gives_kerass_probabilities(tmp_path, writer):
    layers = _layers()
    source = writer(tmp_path / f"clf.{'h5' if writer is write_h5 else 'keras'}", layers)
    assert main(["import-keras", str(source), "--out", str(tmp_path / "runs"), "--name", "clf"]) == 0
    run_dir = next((tmp_path / "runs").glob("clf-*"))
    x = np.random.default_rng(0).normal(0, 2, (50, 12)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert main(["predict", str(run_dir), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "p")]) == 0
    with np.load(tmp_path / "p.npz") as f:
        np.testing.assert_allclose(f["probabilities"], forward(layers, x), rtol=1e-5, atol=1e-6)
    config = tomllib.loads((run_dir / "config.toml").read_text())
    assert (config["data"]["standardize"], config["data"]["task"]) == (False, "multiclass")
    assert config["model"]["norm"] == "after" and config["model"]["norm_momentum"] == 0.01
    meta = json.loads((run_dir / "model.json").read_text())
    assert meta["imported"]["layers"] == {"dense": "hidden1.linear", "batch_normalization": "hidden1.norm",
                                          "dense_1": "output"}


def test_transfer_from_an_imported_model_starts_from_its_weights(tmp_path):
    layers = _layers()
    assert main(["import-keras", str(write_keras(tmp_path / "m.keras", layers)), "--out", str(tmp_path / "runs"),
                 "--name", "src"]) == 0
    source = next((tmp_path / "runs").glob("src-*"))
    x, y = make_blobs(300, classes=2)
    np.savez(tmp_path / "b.npz", x_train=x[:240], y_train=y[:240], x_test=x[240:], y_test=y[240:])
    code = main(["transfer", "--from", str(source), "--data", str(tmp_path / "b.npz"), "--epochs", "1",
                 "--freeze-epochs", "1", "--out", str(tmp_path / "runs"), "--name", "dst", "--quiet"])
    assert code == 0
    model, spec, _, _ = load_model(next((tmp_path / "runs").glob("dst-*")))
    assert spec.num_outputs == 2 and spec.hidden == [16]
    np.testing.assert_array_equal(model.hidden1.linear.weight.detach().numpy(), layers[1][2][0].T.astype(np.float32))
    np.testing.assert_array_equal(model.hidden1.norm.running_var.numpy(), layers[2][2][3].astype(np.float32))


def test_export_of_an_imported_model_runs_in_onnxruntime(tmp_path):
    import onnxruntime

    layers = _layers()
    main(["import-keras", str(write_h5(tmp_path / "m.h5", layers)), "--out", str(tmp_path / "runs")])
    run_dir = next((tmp_path / "runs").glob("m-*"))
    assert main(["export", str(run_dir), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 0
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    x = np.random.default_rng(1).normal(0, 1, (20, 12)).astype(np.float32)
    (probs,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(probs, forward(layers, x), rtol=1e-4, atol=1e-5)


def test_an_unsupported_layer_exits_2_naming_it(tmp_path, capsys):
    layers = [*_layers()[:2], ("LayerNormalization", {}, []), *_layers()[4:]]
    assert main(["import-keras", str(write_keras(tmp_path / "m.keras", layers)), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "layer 'layer_normalization' (LayerNormalization): this class cannot be imported" in err
    assert not list(tmp_path.glob("m-*"))


def test_a_file_that_is_no_keras_model_exits_2(tmp_path, capsys):
    (tmp_path / "x.h5").write_text("not hdf5")
    assert main(["import-keras", str(tmp_path / "x.h5"), "--out", str(tmp_path)]) == 2
    assert "neither an HDF5 (.h5) nor a zip (.keras) file" in capsys.readouterr().err
