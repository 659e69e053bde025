"""The exported file reproduces `deepfit predict`: scaling, standardisation and batch norm folded, dropout off."""

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from deepfit.cli.main import main
from deepfit.nn import load_model
from deepfit.run.export import EXPORT_FORMATS, export_run, inference_model

QUIET = ["--set", "data.valid=100", "--set", "optimizer.lr=0.01", "--quiet", "--epochs", "2"]


def _pixels(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 6, 6) uint8 images of 3 classes: blobs in pixel space, clipped to 0-255."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(40, 215, size=(3, 6, 6))
    y = rng.integers(0, 3, size=n)
    x = np.clip(centers[y] + rng.normal(0, 25, size=(n, 6, 6)), 0, 255)
    return x.astype(np.uint8), y.astype(np.int64)


def _train(tmp: Path, data: Path, *sets: str) -> Path:
    out = tmp / f"runs-{data.stem}"
    assert main(["train", "--data", str(data), "--out", str(out), *QUIET, *sets]) == 0
    (run,) = out.iterdir()
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, np.ndarray]]:
    """kind -> (run directory, inputs to predict): float blobs with dropout; uint8 images with batch norm."""
    tmp = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, size=500)
    x = (rng.normal(0, 3, size=(3, 12))[y] + rng.normal(size=(500, 12)) + 5.0).astype(np.float32)
    np.savez(tmp / "blobs.npz", x_train=x[:400], y_train=y[:400], x_test=x[400:], y_test=y[400:])
    px, py = _pixels(500)
    np.savez(tmp / "pixels.npz", x_train=px[:400], y_train=py[:400], x_test=px[400:], y_test=py[400:])
    return {
        "blobs": (_train(tmp, tmp / "blobs.npz", "--set", "model.hidden=[16,8]", "--set", "model.dropout=0.3"),
                  x[400:407]),
        "pixels": (_train(tmp, tmp / "pixels.npz", "--preset", "guidelines", "--set", "model.hidden=[16,8]",
                          "--set", "model.norm=before"), px[400:407]),
    }


@pytest.fixture(scope="module")
def exported(runs, tmp_path_factory):
    """(format, kind) -> exported file, each written once (an ONNX export takes seconds)."""
    tmp, files = tmp_path_factory.mktemp("files"), {}

    def get(fmt: str, kind: str) -> Path:
        if (fmt, kind) not in files:
            run, x = runs[kind]
            dtype = "uint8" if x.dtype == np.uint8 else "float32"
            path = tmp / f"{kind}{EXPORT_FORMATS.build(fmt).suffix}"
            files[fmt, kind] = export_run(run, fmt, path, input_dtype=dtype)
        return files[fmt, kind]

    return get


def _predict(run: Path, x: np.ndarray, tmp: Path) -> np.ndarray:
    np.savez(tmp / "in.npz", x=x)
    assert main(["predict", str(run), "--input", str(tmp / "in.npz"), "--output", str(tmp / "out.npz")]) == 0
    return np.load(tmp / "out.npz")["probabilities"]


def _onnxruntime(path: Path, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _torchscript(path: Path, x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated in current torch
        module = torch.jit.load(str(path))
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


RUNTIMES = {"onnx": _onnxruntime, "torchscript": _torchscript}


def test_every_export_format_has_a_runtime_here():
    assert set(RUNTIMES) == set(EXPORT_FORMATS.names())


@pytest.mark.parametrize("kind", ["blobs", "pixels"])
@pytest.mark.parametrize("fmt", EXPORT_FORMATS.names())
def test_exported_file_reproduces_deepfit_predict(fmt, kind, runs, exported, tmp_path):
    run, x = runs[kind]
    expected = _predict(run, x, tmp_path)  # (7, 3): a batch size the export never saw
    got = _onnxruntime(exported(fmt, kind), x) if fmt == "onnx" else _torchscript(exported(fmt, kind), x)
    assert got.shape == expected.shape == (7, 3)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert expected.max(1).mean() > 0.5  # a trained model, so a wrong scaling would show


def test_onnx_graph_has_batch_norm_and_dropout_folded_away(exported):
    ops = {node.op_type for node in onnx.load(str(exported("onnx", "pixels"))).graph.node}
    assert "Gemm" in ops or "MatMul" in ops
    assert not ops & {"BatchNormalization", "Dropout"}, ops


def test_onnx_input_is_the_raw_dtype_with_a_dynamic_batch(exported):
    (inp,) = onnx.load(str(exported("onnx", "pixels"))).graph.input
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    dims = inp.type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [6, 6]


def test_logits_are_the_networks_outputs_on_standardised_inputs(runs):
    run, x = runs["blobs"]
    model, _, _, extra = load_model(run)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        expected = model((xt - extra["mean"]) / extra["std"])
        got = inference_model(run, logits=True)(xt)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_uint8_inputs_are_scaled_by_1_over_255_before_standardising(runs):
    run, x = runs["pixels"]
    as_uint8 = inference_model(run, input_dtype="uint8")
    as_float = inference_model(run, input_dtype="float32")
    with torch.no_grad():
        torch.testing.assert_close(
            as_uint8(torch.from_numpy(x)), as_float(torch.from_numpy(x.astype(np.float32) / 255)), atol=1e-6, rtol=0
        )


def test_the_run_records_its_input_dtype_and_export_takes_it_by_default(runs, tmp_path, capsys):
    pixels, blobs = runs["pixels"][0], runs["blobs"][0]
    assert json.loads((pixels / "model.json").read_text())["input_dtype"] == "uint8"
    assert json.loads((blobs / "model.json").read_text())["input_dtype"] == "float32"
    assert inference_model(pixels).input_dtype == "uint8" and inference_model(blobs).input_dtype == "float32"
    assert main(["export", str(pixels), "--format", "torchscript", "--out", str(tmp_path / "p.pt")]) == 0
    assert "torchscript, uint8 inputs" in capsys.readouterr().out
    x = runs["pixels"][1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(tmp_path / "p.pt"))
    torch.testing.assert_close(module(torch.from_numpy(x)), inference_model(pixels, input_dtype="uint8")(
        torch.from_numpy(x)))


def test_a_run_saved_before_the_dtype_was_recorded_exports_float32_inputs(runs, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(runs["pixels"][0], old)
    meta = json.loads((old / "model.json").read_text())
    del meta["input_dtype"]
    (old / "model.json").write_text(json.dumps(meta))
    assert inference_model(old).input_dtype == "float32"
