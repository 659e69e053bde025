"""`deepfit schedule plot` and `deepfit lr-find` end to end on tiny data."""

from __future__ import annotations

import json
import re

import pytest
import tomllib

from deepfit.cli.lr_find import apply_lr_to_config
from deepfit.cli.main import main
from deepfit.errors import ConfigError


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_schedule_plot_draws_lr_and_momentum_without_data(tmp_path, capsys):
    code, text, _ = _run(
        capsys,
        "schedule",
        "plot",
        "--steps-per-epoch",
        "10",
        "--epochs",
        "4",
        "--out",
        str(tmp_path / "figures"),
        "--set",
        "schedule.name=one_cycle",
        "--set",
        "schedule.max_lr=0.1",
        "--set",
        "optimizer.name=momentum",
        "--set",
        "optimizer.lr=0.01",
    )
    assert code == 0
    figures = tmp_path / "figures"
    assert (figures / "schedule.png").stat().st_size > 1000
    assert (figures / "schedule_momentum.png").stat().st_size > 1000
    assert "lr 0.01 -> max 0.1 -> 1e-05 over 40 optimizer steps" in text


def test_schedule_plot_counts_steps_from_the_data(tmp_path, capsys, blobs_npz):
    code, text, _ = _run(
        capsys,
        "schedule",
        "plot",
        "--data",
        str(blobs_npz),
        "--set",
        "data.valid=100",
        "--batch-size",
        "100",
        "--epochs",
        "2",
        "--set",
        "schedule.name=exponential",
        "--out",
        str(tmp_path),
    )
    assert code == 0
    assert "over 12 optimizer steps" in text  # 600 training samples / 100 = 6 steps per epoch, 2 epochs
    assert (tmp_path / "schedule.png").is_file() and not (tmp_path / "schedule_momentum.png").exists()


def test_schedule_plot_counts_epochs_in_words_under_interval_epoch(tmp_path, capsys):
    code, text, _ = _run(capsys, "schedule", "plot", "--steps-per-epoch", "10", "--epochs", "60", "--out",
                         str(tmp_path), "--set", "schedule.name=exponential", "--set", "schedule.interval=epoch")
    assert code == 0
    assert "over 60 epochs: " in text and "(0-based)" not in text


def test_one_cycle_without_max_lr_asks_for_the_field(tmp_path, capsys):
    code, _, err = _run(capsys, "schedule", "plot", "--steps-per-epoch", "10", "--out", str(tmp_path),
                        "--preset", "reference", "--set", "schedule.name=one_cycle")
    assert code == 2
    assert "schedule 'one_cycle' needs schedule.max_lr (max_lr, the peak learning rate" in err
    assert "keyword-only" not in err and len(err.strip().splitlines()) <= 2


def test_schedule_plot_refuses_performance_scheduling(tmp_path, capsys):
    code, _, err = _run(
        capsys,
        "schedule",
        "plot",
        "--steps-per-epoch",
        "5",
        "--set",
        "schedule.name=performance",
        "--out",
        str(tmp_path),
    )
    assert code == 2 and "reacts to validation metrics" in err


def test_lr_find_plots_prints_and_applies_the_suggestion(tmp_path, capsys, blobs_npz):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[optimizer]\nname = "sgd"\nlearning_rate = 0.5\n')
    code, text, _ = _run(
        capsys,
        "lr-find",
        "--config",
        str(cfg),
        "--data",
        str(blobs_npz),
        "--set",
        "data.valid=100",
        "--set",
        "model.hidden=[16]",
        "--batch-size",
        "16",
        "--start-lr",
        "1e-4",
        "--end-lr",
        "100",
        "--apply",
        str(cfg),
        "--out",
        str(tmp_path / "lr"),  # a directory, as every command's --out: the figure goes inside it
        "--device",
        "cpu",
    )
    assert code == 0, text
    assert "suggested lr" in text and (tmp_path / "lr" / "lr_find.png").stat().st_size > 1000
    written = tomllib.loads(cfg.read_text())["optimizer"]
    assert "learning_rate" not in written and 1e-4 < written["lr"] < 100 and written["lr"] != 0.5
    assert f"{written['lr']:.3g}" in text


def test_lr_find_into_a_run_directory_adds_its_curve_to_the_runs_report(tmp_path, capsys, blobs_npz):
    common = ["--data", str(blobs_npz), "--set", "data.valid=100", "--set", "model.hidden=[8]", "--device", "cpu"]
    assert _run(capsys, "train", *common, "--epochs", "1", "--out", str(tmp_path / "runs"), "--quiet")[0] == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert "Learning-rate finder" not in (run / "report.html").read_text()
    code, text, _ = _run(capsys, "lr-find", "--config", str(run / "config.toml"), *common, "--out", str(run))
    assert code == 0, text
    curve = json.loads((run / "lr_find.json").read_text())
    assert len(curve["lrs"]) == len(curve["losses"]) > 10 and curve["optimizer"] == "nadam"
    report = (run / "report.html").read_text()
    assert "<h2>Learning-rate finder</h2>" in report and curve["message"] in report
    assert (run / "plots" / "lr_find.png").is_file() and not (run / "lr_find.png").exists()
    assert f"report: {run / 'report.html'}" in text


@pytest.mark.parametrize("command", [["lr-find"], ["schedule", "plot", "--steps-per-epoch", "5"]])
@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("f.png", r"--out .*f\.png: expected a directory \(as in every deepfit command\), got a figure's file name; "
                  r"the figure is written as DIR/(lr_find|schedule)\.png: give --out "),
        ("file", r"--out .*file: expected a directory to write (lr_find|schedule)\.png into, but .*file is a file"),
        ("file/sub", r"--out .*file/sub: expected a directory to write (lr_find|schedule)\.png into, but .*/file is "),
    ],
)
def test_a_figure_out_that_is_not_a_directory_is_refused_before_any_work(tmp_path, capsys, command, out, message):
    (tmp_path / "file").write_text("")
    code, _, err = _run(capsys, *command, "--data", str(tmp_path / "missing.npz"), "--out", str(tmp_path / out))
    assert code == 2 and re.search(message, err), err
    assert "missing.npz" not in err  # refused before the data is read


def test_apply_under_one_cycle_sets_max_lr(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[optimizer]\nlr = 0.5\n[schedule]\nname = "1cycle"\nmax_lr = 1.0\n')
    assert apply_lr_to_config(cfg, 0.2) == "schedule.max_lr"
    data = tomllib.loads(cfg.read_text())
    assert data["schedule"]["max_lr"] == 0.2 and data["optimizer"]["lr"] == 0.02
    fresh = tmp_path / "new.toml"
    assert apply_lr_to_config(fresh, 0.0123456) == "optimizer.lr"
    assert tomllib.loads(fresh.read_text()) == {"optimizer": {"lr": 0.0123}}
    bad = tmp_path / "bad.toml"
    bad.write_text("optimizer = 3\n")
    with pytest.raises(ConfigError, match="must be sections"):
        apply_lr_to_config(bad, 0.1)
