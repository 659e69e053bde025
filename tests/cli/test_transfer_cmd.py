import json

import numpy as np
import pytest

from deepfit.cli.main import main
from deepfit.nn import build_model, load_model

COMMON = ["--set", "data.valid=100", "--set", "optimizer.lr=0.01", "--quiet"]


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    """One source run for the module (training and its report are the slow part)."""
    tmp = tmp_path_factory.mktemp("source")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=400)
    x = (rng.normal(0, 3, size=(3, 12))[y] + rng.normal(size=(400, 12))).astype(np.float32)
    np.savez(tmp / "blobs.npz", x_train=x, y_train=y)
    assert (
        main(
            [
                "train",
                "--preset",
                "reference",  # a ReLU source: this module tests the transfer mechanics, not the default net
                "--data",
                str(tmp / "blobs.npz"),
                "--out",
                str(tmp / "src"),
                "--epochs",
                "2",
                "--set",
                "model.hidden=[16,8]",
                *COMMON,
            ]
        )
        == 0
    )
    (run,) = (tmp / "src").iterdir()
    return run


def test_transfer_writes_a_normal_run_whose_model_json_rebuilds_the_transferred_model(
    tmp_path, blobs_npz, source_run, capsys
):
    code = main(
        [
            "transfer",
            "--from",
            str(source_run),
            "--reuse",
            "1",
            "--freeze-epochs",
            "1",
            "--epochs",
            "3",
            "--data",
            str(blobs_npz),
            "--out",
            str(tmp_path / "tr"),
            *COMMON,
        ]
    )
    assert code == 0, capsys.readouterr().err
    (run,) = (tmp_path / "tr").iterdir()
    model, spec, _, _ = load_model(run)
    assert spec.hidden == [16] and spec.num_outputs == 3
    assert len(list(build_model(spec).parameters())) == len(list(model.parameters()))
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 3
    assert 'source = "' in (run / "config.toml").read_text()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--reuse", "3"], "asked for 3 hidden layers, the source model has 2"),
        (["--unfreeze", "some"], "transfer.unfreeze"),
    ],
)
def test_bad_transfer_input_exits_2_naming_the_problem(tmp_path, blobs_npz, source_run, capsys, argv, message):
    code = main(
        [
            "transfer",
            "--from",
            str(source_run),
            "--epochs",
            "1",
            "--data",
            str(blobs_npz),
            "--out",
            str(tmp_path / "tr"),
            *argv,
            *COMMON,
        ]
    )
    assert code == 2
    assert message in capsys.readouterr().err


def test_transfer_from_a_missing_directory_is_reported(tmp_path, blobs_npz, capsys):
    code = main(
        [
            "transfer",
            "--from",
            str(tmp_path / "nope"),
            "--epochs",
            "1",
            "--data",
            str(blobs_npz),
            "--out",
            str(tmp_path / "tr"),
            *COMMON,
        ]
    )
    assert code == 2
    assert "nope/model.json: not found" in capsys.readouterr().err


def test_transfer_progress_names_each_stage_and_counts_epochs_of_the_whole_run(tmp_path, blobs_npz, source_run,
                                                                               capsys):
    argv = ["transfer", "--from", str(source_run), "--reuse", "1", "--freeze-epochs", "1", "--epochs", "3",
            "--data", str(blobs_npz), "--out", str(tmp_path / "runs"), *COMMON[:-1]]  # not --quiet
    assert main(argv) == 0
    lines = capsys.readouterr().err.splitlines()
    stage1 = next(i for i, line in enumerate(lines) if line.startswith("stage 1 of 2, epochs 1-1: the 1 reused"))
    stage2 = next(i for i, line in enumerate(lines) if line.startswith("stage 2 of 2, epochs 2-3: fine-tuning"))
    counters = [line.split()[0] for line in lines if line[:1].isdigit()]
    assert stage1 < stage2 and counters == ["1/3", "2/3", "3/3"]
