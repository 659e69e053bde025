"""`deepfit sweep`: grids from flags and from a [sweep] section, one study directory, clear errors."""

from __future__ import annotations

import csv
import json

from deepfit.cli.main import main


def _args(blobs_npz, tmp_path, *extra):
    return ["sweep", "--data", str(blobs_npz), "--set", "data.valid=100", "--set", "model.hidden=[8]",
            "--epochs", "2", "--out", str(tmp_path / "sweeps"), "--quiet", *extra]


def test_sweep_trains_every_combination_over_seeds_in_one_group(tmp_path, capsys, blobs_npz):
    code = main(_args(blobs_npz, tmp_path, "--grid", "optimizer.lr=1e-3,1e-2", "--grid",
                      "model.activation=relu,elu", "--seeds", "2", "--save-models",
                      "--set", "data.split=first"))  # the same rows for both seeds, so they share one group
    out = capsys.readouterr().out
    assert code == 0 and "sweep directory" in out and "lr=0.01,activation=elu" in out
    (sweep,) = (tmp_path / "sweeps").iterdir()
    with (sweep / "runs.csv").open() as f:
        runs = list(csv.DictReader(f))
    assert len(runs) == 8 and {r["members"] for r in runs} == {"8"}
    assert {r["seed"] for r in runs} == {"42", "43"}
    evidence = json.loads((sweep / "study.json").read_text())
    assert evidence["engine"] == "grouped" and evidence["wall_time_s"] > 0
    assert (sweep / "models" / "lr=0.001,activation=relu" / "seed43" / "model.safetensors").is_file()
    assert main(["evaluate", str(sweep / "models" / "lr=0.001,activation=relu" / "seed43"), "--device", "cpu"]) == 0


def test_sweep_reads_its_grid_from_the_config_file(tmp_path, capsys, blobs_npz):
    toml = tmp_path / "s.toml"
    toml.write_text('[sweep]\nseeds = 2\nengine = "sequential"\ngrid = { "optimizer.lr" = [0.001, 0.01] }\n')
    assert main(_args(blobs_npz, tmp_path, "--config", str(toml))) == 0
    (sweep,) = (tmp_path / "sweeps").iterdir()
    with (sweep / "runs.csv").open() as f:
        assert [r["members"] for r in csv.DictReader(f)] == ["1"] * 4  # sequential: one run at a time
    assert main(["train", "--config", str(toml), "--quiet"]) == 2
    assert "[sweep] section: run it with `deepfit sweep`" in capsys.readouterr().err


def test_bad_grids_are_one_line_errors_before_any_training(tmp_path, capsys, blobs_npz):
    for grid, message in [
        ("optimizer.lrr=0.1,0.2", "unexpected keyword argument 'lrr'"),
        ("model.dropout=0.1,1.5", "model.dropout"),
        ("optimizer.lr=", "comma-separated list of values"),
    ]:
        assert main(_args(blobs_npz, tmp_path, "--grid", grid)) == 2
        assert message in capsys.readouterr().err
    assert main(_args(blobs_npz, tmp_path)) == 2
    assert "needs a grid" in capsys.readouterr().err
    assert not (tmp_path / "sweeps").exists() or not any((tmp_path / "sweeps").iterdir())


def test_sweeps_and_studies_are_refused_under_torchrun_before_any_training(tmp_path, capsys, blobs_npz, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(_args(blobs_npz, tmp_path, "--grid", "optimizer.lr=0.1,0.2")) == 2
    assert "deepfit sweep cannot run under torchrun (WORLD_SIZE=2)" in capsys.readouterr().err
    assert main(["study", "clipping", "--out", str(tmp_path / "studies"), "--subset", "64", "--epochs", "1"]) == 2
    assert "study 'clipping' cannot run under torchrun (WORLD_SIZE=2)" in capsys.readouterr().err
    assert not (tmp_path / "sweeps").exists() and not (tmp_path / "studies").exists()
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert main(_args(blobs_npz, tmp_path, "--grid", "optimizer.lr=0.1,0.2")) == 0


def test_sweep_writes_sweep_html_ranked_with_overlaid_curves_and_a_table_in_the_terminal(tmp_path, capsys,
                                                                                          blobs_npz):
    from deepfit.studies.stats import CI_MEANING

    assert main(_args(blobs_npz, tmp_path, "--grid", "optimizer.lr=1e-4,3e-2", "--seeds", "2")) == 0
    out = " ".join(capsys.readouterr().out.split())  # the caption wraps at the console's width
    assert out.count("half-width of the 95%") == 1 and "sweep: results" in out and " variant " in out
    (sweep,) = (tmp_path / "sweeps").iterdir()
    page = (sweep / "sweep.html").read_text()
    assert not (sweep / "study.html").exists() and "<title>sweep</title>" in page
    # ranked by validation accuracy: the larger lr learns the blobs in 2 epochs, the smaller barely moves
    best, other = page.index('<tr class="differs"><td>lr=0.03</td>'), page.index("<tr><td>lr=0.0001</td>")
    assert best < other and CI_MEANING.split(";")[0] in page
    assert "validation accuracy per epoch, one line per variant" in page and page.count("<img") >= 3
