import re
import warnings

import pytest
import torch

from deepfit.cli.main import main


@pytest.fixture(scope="module")
def run(module_blobs_npz, tmp_path_factory):
    out = tmp_path_factory.mktemp("export-cmd") / "runs"
    argv = ["train", "--data", str(module_blobs_npz), "--out", str(out), "--epochs", "1",
            "--set", "data.valid=50", "--set", "model.hidden=[8]", "--quiet"]
    assert main(argv) == 0
    (run,) = out.iterdir()
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
