import re
import warnings

import numpy as np
import pytest
import torch

from deepfit.cli.main import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export-cmd")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=300)
    x = (rng.normal(0, 3, size=(3, 12))[y] + rng.normal(size=(300, 12))).astype(np.float32)
    np.savez(tmp / "blobs.npz", x_train=x, y_train=y)
    argv = ["train", "--data", str(tmp / "blobs.npz"), "--out", str(tmp / "runs"), "--epochs", "1",
            "--set", "data.valid=50", "--set", "model.hidden=[8]", "--quiet"]
    assert main(argv) == 0
    (run,) = (tmp / "runs").iterdir()
    return run


def test_export_writes_model_pt_in_the_run_directory_by_default(run, capsys):
    assert main(["export", str(run), "--format", "torchscript"]) == 0
    assert f"wrote {run / 'model.pt'}" in capsys.readouterr().out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(run / "model.pt"))
    probs = module(torch.zeros(4, 12))
    torch.testing.assert_close(probs.sum(1), torch.ones(4))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}"], "is not a deepfit run directory"),
        (["{run}", "--format", "onx"], "unknown export format 'onx'; did you mean 'onnx'"),
        (["{run}", "--format", "torchscript", "--out", "{blocked}/model.pt"], "cannot write .*model.pt"),
        (["{run}", "--input-dtype", "int8"], "--input-dtype: expected one of float32, uint8, got 'int8'"),
    ],
)
def test_export_bad_input_exits_2_with_a_message(args, message, run, tmp_path, capsys):
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # a file where --out needs a directory: unwritable even for root
    argv = [a.format(run=run, missing=tmp_path / "no-run", blocked=blocked) for a in args]
    assert main(["export", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepfit export: error: ") and len(err.strip().splitlines()) <= 2
    assert re.search(message, err), err
