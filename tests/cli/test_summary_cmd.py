import re

import pytest

from deepfit.cli.main import main
from deepfit.nn import load_model


@pytest.fixture
def blobs_config(tmp_path, blobs_npz):
    path = tmp_path / "blobs.toml"
    path.write_text(f'[data]\nname = "npz"\npath = "{blobs_npz}"\nvalid = 100\n\n[model]\nhidden = [16, 8]\n')
    return path


def _total(out: str) -> int:
    return int(re.search(r"total params: ([\d,]+)", out).group(1).replace(",", ""))


def test_summary_of_a_config_counts_the_network_it_would_train(blobs_config, capsys):
    assert main(["summary", "--config", str(blobs_config)]) == 0
    out = capsys.readouterr().out
    assert _total(out) == 12 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3
    assert "hidden2" in out and "frozen: 0" in out


def test_summary_of_a_run_counts_its_saved_model(tmp_path, blobs_npz, capsys):
    argv = ["train", "--data", str(blobs_npz), "--out", str(tmp_path / "runs"), "--epochs", "1", "--quiet",
            "--set", "data.valid=100", "--set", "model.hidden=[10]"]
    assert main(argv) == 0
    (run,) = (tmp_path / "runs").iterdir()
    capsys.readouterr()
    assert main(["summary", str(run)]) == 0
    model, *_ = load_model(run)
    assert _total(capsys.readouterr().out) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{missing}"], "is not a deepfit run directory"),
        (["{missing}", "--set", "model.hidden=[3]"], "give a run directory or --config/--preset/--set, not both"),
    ],
)
def test_summary_bad_input_exits_2(argv, message, tmp_path, capsys):
    assert main(["summary", *(a.format(missing=tmp_path / "nope") for a in argv)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepfit summary: error: ") and message in err
