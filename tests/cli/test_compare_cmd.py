import pytest

from deepfit.cli.main import main


@pytest.fixture(scope="module")
def two_runs(module_blobs_npz, tmp_path_factory):
    """Two tiny runs that differ only in the learning rate (one --out, so `out` is the same)."""
    out, runs = tmp_path_factory.mktemp("compare") / "runs", []
    for lr in ("0.01", "0.001"):
        before = set(out.glob("*"))
        argv = ["train", "--data", str(module_blobs_npz), "--out", str(out), "--epochs", "2", "--quiet",
                "--set", "data.valid=50", "--set", "model.hidden=[8]", "--set", f"optimizer.lr={lr}"]
        assert main(argv) == 0
        (run,) = set(out.glob("*")) - before
        runs.append(run)
    return runs


def test_compare_writes_a_page_naming_the_differing_key_and_prints_metrics(two_runs, tmp_path, capsys):
    assert main(["compare", *map(str, two_runs), "--out", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    assert "final metrics" in out and "valid acc" in out and out.count(two_runs[0].name) >= 1
    assert "settings that differ" in out
    (row,) = [line for line in out.splitlines() if "optimizer.lr" in line]  # the one setting that differs
    assert row.replace("│", " ").split() == ["optimizer.lr", "0.01", "0.001"]
    text = (tmp_path / "cmp" / "compare.html").read_text()
    assert "Settings that differ: optimizer.lr." in text
    assert '<tr class="differs"><td>optimizer.lr</td><td>0.01</td><td>0.001</td></tr>' in text
    assert text.count("data:image/png;base64,") == 3 and "val_loss per epoch" in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["{missing}"], "is not a deepfit run directory"), ([], "expected two or more run directories, got 1")],
)
def test_compare_bad_input_exits_2(extra, message, two_runs, tmp_path, capsys):
    argv = ["compare", str(two_runs[0]), *(a.format(missing=tmp_path / "gone") for a in extra),
            "--out", str(tmp_path / "cmp")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepfit compare: error: ") and message in err
