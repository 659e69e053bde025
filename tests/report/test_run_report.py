"""The run report from a run directory's files alone: header, best-epoch marker, per-class table, images."""

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from deepfit.report.run_report import header_lines, stop_text, write_run_report
from deepfit.report.tables import write_csv

# val_acc is best at epoch 3, val_loss at epoch 2: the run monitored val_acc
HISTORY = [{"epoch": e, "loss": 1.0 / e, "acc": 0.6 + 0.05 * e, "val_loss": vl, "val_acc": va, "lr": 0.001}
           for e, vl, va in [(1, 0.8, 0.70), (2, 0.5, 0.74), (3, 0.6, 0.81), (4, 0.7, 0.79)]]
MATRIX = [[8, 2, 0], [1, 6, 3], [0, 1, 9]]
EARLY = {"stopped_epoch": 4, "monitor": "val_acc", "best_epoch": 3, "best": 0.81, "restored_epoch": 3}


def _run_dir(tmp_path, **metrics):
    run = tmp_path / "run-1"
    run.mkdir()
    write_csv(HISTORY, run / "history.csv")
    (run / "config.toml").write_text('name = "run"\n')
    (run / "model.json").write_text(json.dumps({"class_names": ["cat", "dog", "eel"]}))
    base = {"epochs": 4, "train": {"loss": 0.3, "acc": 0.9123}, "valid": {"loss": 0.61, "acc": 0.8101},
            "test": {"loss": 0.6543219, "acc": 0.7666666}, "monitor": "val_acc", "best_epoch": 3,
            "early_stopping": EARLY, "stop": {"reason": "early_stopping", "epoch": 4, "restored_epoch": 3},
            "confusion_matrix": MATRIX, "command": "deepfit train --epochs 10 --set 'model.hidden=[8, 8]'",
            "started": "2026-12-01 17:00:00 UTC", "seed": 7, "samples": {"train": 1800, "valid": 200, "test": 30},
            "device": "cpu", "threads": 1, "engine": "eager", "fit_time_s": 12.3456, "seconds_per_epoch": 3.0864,
            "versions": {"deepfit": "0.1.0", "torch": "2.13.0"}}
    (run / "metrics.json").write_text(json.dumps({**base, **metrics}))
    return run


def test_the_header_says_what_ran_on_which_data_and_why_it_stopped(tmp_path):
    text = write_run_report(_run_dir(tmp_path)).read_text()
    assert "<code>deepfit train --epochs 10 --set &#x27;model.hidden=[8, 8]&#x27;</code>" in text
    assert "<th>seed</th><td>7</td>" in text
    assert "<td>1,800 train, 200 valid, 30 test samples</td>" in text
    assert ("early stopping at epoch 4 (val_acc did not improve for 1 epoch); the weights of epoch 3 restored, "
            "val_acc 0.81") in text
    assert "cpu, 1 thread, engine eager; 12.35 s training (3.086 s per epoch)" in text


def test_the_best_epoch_marker_names_the_monitored_metrics_epoch_not_the_lowest_val_loss(tmp_path):
    run = _run_dir(tmp_path)
    text = write_run_report(run).read_text()
    assert "dotted line: best val_acc, epoch 3" in text and "epoch 2" not in text
    assert (run / "plots" / "learning_curves.png").stat().st_size > 1000


def test_without_early_stopping_the_marker_falls_back_to_the_lowest_val_loss(tmp_path):
    run = _run_dir(tmp_path, monitor=None, best_epoch=None, early_stopping=None,
                   stop={"reason": "completed", "epoch": 4})
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("monitor", "best_epoch", "early_stopping"):
        del metrics[key]
    (run / "metrics.json").write_text(json.dumps(metrics))
    text = write_run_report(run).read_text()
    assert "dotted line: best val_loss, epoch 2" in text and "all 4 epochs done" in text


def test_final_figures_are_rounded_and_accuracies_are_percentages(tmp_path):
    text = write_run_report(_run_dir(tmp_path)).read_text()
    assert '<td class="num">76.67%</td>' in text and '<td class="num">0.6543</td>' in text
    assert "generalisation gap (train - valid accuracy)</td><td class=\"num\">10.22 pp</td>" in text
    assert "0.6543219" not in text


def test_per_class_precision_and_recall_come_from_the_test_confusion_matrix(tmp_path):
    text = write_run_report(_run_dir(tmp_path)).read_text()
    # dog: precision 6 / (2 + 6 + 1), recall 6 / (1 + 6 + 3)
    assert '<tr><td>dog</td><td class="num">10</td><td class="num">66.7%</td><td class="num">60.0%</td>' in text
    assert "<td>eel (3)</td>" in text


def test_misclassified_samples_and_the_lr_finder_curve_are_drawn_when_the_run_has_them(tmp_path):
    run = _run_dir(tmp_path)
    assert "misclassified" not in write_run_report(run).read_text()
    save_file({"x": np.random.default_rng(0).random((6, 8, 8)).astype(np.float32), "true": np.zeros(6, np.int64),
               "predicted": np.ones(6, np.int64), "index": np.arange(6)}, str(run / "misclassified.safetensors"))
    (run / "lr_find.json").write_text(json.dumps({"lrs": [1e-4, 1e-3, 1e-2, 1e-1], "losses": [1.0, 0.8, 0.5, 2.0],
                                                  "raw_losses": [1.0, 0.7, 0.6, None], "suggestion": 1e-3,
                                                  "steepest_lr": 1e-3, "message": "suggested lr 0.001"}))
    text = write_run_report(run).read_text()
    assert "the first 6 misclassified test samples" in text and "<h2>Learning-rate finder</h2>" in text
    assert "<p>suggested lr 0.001</p>" in text
    assert (run / "plots" / "misclassified.png").stat().st_size > 1000
    assert (run / "plots" / "lr_find.png").stat().st_size > 1000


@pytest.mark.parametrize(("metrics", "text"), [
    ({"stop": {"reason": "completed", "epoch": 20}}, "all 20 epochs done"),
    ({"stop": {"reason": "completed", "epoch": 20, "restored_epoch": 17}, "monitor": "val_acc"},
     "all 20 epochs done; the weights of epoch 17 restored (best val_acc)"),
    ({"stop": {"reason": "diverged", "epoch": 3, "note": "the training loss became non-finite"}},
     "diverged in epoch 3: the training loss became non-finite"),
    ({"stop": {"reason": "early_stopping", "epoch": 9, "restored_epoch": None}, "epochs": 9,
      "early_stopping": {**EARLY, "stopped_epoch": 9, "best_epoch": 4, "restored_epoch": None}},
     "early stopping at epoch 9 (val_acc did not improve for 5 epochs); the weights of the last epoch (9) kept "
     "(restore_best is off)"),
    ({"stopped": "diverged", "diverged": {"epoch": 2}, "note": "loss nan"}, "diverged: loss nan"),  # older runs
    ({}, ""),
])
def test_stop_text_words_each_reason(metrics, text):
    assert stop_text(metrics) == text


def test_a_run_written_before_the_header_keys_still_gets_a_header():
    assert header_lines({"device": "cpu"}) == [("ran on", "cpu")]


def test_a_staged_runs_report_marks_where_stage_1_ended(tmp_path):
    run = _run_dir(tmp_path)
    (run / "config.toml").write_text('name = "run"\n[transfer]\nsource = "src"\nfreeze_epochs = 2\n')
    assert "stage 1 (reused layers frozen) ends after epoch 2" in write_run_report(run).read_text()
    (run / "config.toml").write_text('name = "run"\n[transfer]\nsource = "src"\nfreeze_epochs = 4\n')
    assert "stage 1" not in write_run_report(run).read_text()  # all 4 epochs frozen: no second stage


def test_the_header_shows_each_resume_and_how_the_data_was_split():
    metrics = {
        "command": "deepfit train --data cells.csv", "started": "2026-12-08 01:00:00 UTC",
        "resumes": [{"command": "deepfit train --resume runs/a", "time": "2026-12-08 02:00:00 UTC", "from_epoch": 3,
                     "previous": "interrupted"}],
        "validation_split": {"method": "stratified", "seed": 42, "data.valid": 8, "samples": 8,
                             "chosen": "10% of the 80 samples",
                             "test": {"data.test": 8, "samples": 8, "chosen": "by the user"}},
    }
    lines = dict(header_lines(metrics))
    assert lines["resumed"] == ("2026-12-08 02:00:00 UTC after epoch 3 (the previous process was interrupted): "
                                "deepfit train --resume runs/a")
    assert lines["split"] == ("stratified by class, seed 42: 8 validation (chosen automatically: 10% of the 80 "
                              "samples), 8 test (set by the user)")
    assert lines["command"] == "deepfit train --data cells.csv"
