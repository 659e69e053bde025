"""Bad input to `deepfit train`, `predict` and `--resume`: exit status 2 and one line naming the thing, what
was expected and what was found (issue 13), or a run that says what it chose."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import tomllib

from deepfit.cli.main import main

SMALL = ["--epochs", "1", "--quiet", "--set", "model.hidden=[8]", "--set", "train.engine=eager"]
TALKING = [a for a in SMALL if a != "--quiet"]  # prints the split line and the notes


def _arrays(n: int, features: int = 12, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs and labels 0..classes-1: what these tests check happens before any learning."""
    x = np.random.default_rng(0).normal(size=(n, features)).astype(np.float32)
    return x, np.arange(n) % classes


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _train(capsys, data: Path, out: Path, *extra: str) -> Path:
    code, _, err = _run(capsys, "train", "--data", str(data), "--out", str(out), *SMALL, *extra)
    assert code == 0, err
    (run,) = out.iterdir()
    return run


def _refused(capsys, *argv) -> str:
    """The one-line message of a command that must exit with status 2."""
    code, _, err = _run(capsys, *argv)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A trained run on 12 raw (unstandardised) features, for predict."""
    tmp = tmp_path_factory.mktemp("run")
    x, y = _arrays(300)
    np.savez(tmp / "b.npz", x_train=x, y_train=y)
    code = main(["train", "--data", str(tmp / "b.npz"), "--out", str(tmp / "runs"), *SMALL,
                 "--set", "data.standardize=false", "--set", "data.valid=30"])
    assert code == 0
    (run,) = (tmp / "runs").iterdir()
    return run


@pytest.mark.parametrize(
    ("write", "option", "message"),
    [
        (lambda p: p.write_bytes(bytes(range(256))), "--config",
         r"config file '.*f' is not UTF-8 text \(byte 0x80 at offset 128\), expected a TOML file"),
        (lambda p: p.mkdir(), "--config", r"config file '.*f' is a directory, expected a TOML file"),
        (lambda p: p.write_bytes("label,caf\xe9\n0,1.0\n1,2.0\n".encode("latin-1")), "--data",
         r"f\.csv, line 1: not UTF-8 text \(byte 0xe9\); expected a UTF-8 CSV file: save it as UTF-8"),
    ],
)
def test_a_binary_or_directory_config_and_a_latin1_csv_are_named(tmp_path, capsys, write, option, message):
    path = tmp_path / ("f.csv" if option == "--data" else "f")
    write(path)
    argv = ["--data", str(tmp_path / "none.npz")] if option == "--config" else []
    err = _refused(capsys, "train", option, str(path), *argv, "--out", str(tmp_path / "runs"))
    assert re.search(message, err), err


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.valid=inf", "config: data.valid: expected a finite number, got inf"),
        ("optimizer.lr=inf", "config: optimizer.lr: expected a finite number, got inf"),
        ("optimizer.lr=nan", "config: optimizer.lr: expected a finite number, got nan"),
    ],
)
def test_non_finite_settings_are_refused_naming_the_key(tmp_path, capsys, blobs_npz, override, message):
    err = _refused(capsys, "train", "--data", str(blobs_npz), "--out", str(tmp_path), "--set", override)
    assert message in err


def test_a_model_too_large_to_allocate_is_refused_with_its_size(tmp_path, capsys, blobs_npz):
    err = _refused(capsys, "train", "--data", str(blobs_npz), "--out", str(tmp_path), "--set",
                   "model.hidden=[1000000000]")
    assert ("model: the network 12 -> 1000000000 -> 3 would have 16,000,000,003 parameters (64.0 GB as float32, "
            "before gradients and optimizer state), above the limit of 1,000,000,000; check model.hidden") in err


def test_labels_that_are_not_0_to_c_are_renumbered_with_a_one_line_note(tmp_path, capsys):
    x, y = _arrays(300, classes=4)
    y = np.array([3, 7, 9, 10**9])[y]
    np.savez(tmp_path / "ids.npz", x_train=x, y_train=y)
    code, _out, err = _run(capsys, "train", "--data", str(tmp_path / "ids.npz"), "--out", str(tmp_path / "runs"),
                          *TALKING)
    assert code == 0, err
    assert ("ids.npz: labels {3, 7, 9, 1e+09} renumbered 0..3 in sorted order (3 -> 0, 7 -> 1, 9 -> 2, 1e+09 -> 3); "
            "predict maps them back") in err  # with the split, on the progress stream before epoch 1
    (run,) = (tmp_path / "runs").iterdir()
    model = json.loads((run / "model.json").read_text())
    assert (model["class_names"], model["label_values"]) == (["3", "7", "9", "1e+09"], [3, 7, 9, 10**9])


def test_a_single_class_is_refused_for_multiclass_and_warned_about_in_one_line_for_binary(tmp_path, capsys):
    x, _ = _arrays(300)
    np.savez(tmp_path / "one.npz", x_train=x, y_train=np.ones(300, dtype=int))
    err = _refused(capsys, "train", "--data", str(tmp_path / "one.npz"), "--out", str(tmp_path / "runs"))
    assert "one.npz: every training label is 1: a multiclass task needs at least 2 classes" in err
    code, _, err = _run(capsys, "train", "--data", str(tmp_path / "one.npz"), "--out", str(tmp_path / "runs"),
                        *SMALL, "--set", "data.task=binary")
    assert code == 0
    assert re.search(r"^deepfit train: warning: .*one\.npz: every training label is 1: a binary classifier trained "
                     r"on one class predicts it everywhere, and its accuracy means nothing", err, re.M), err


@pytest.mark.parametrize(
    ("make", "data", "message"),
    [
        (None, "nope", r"--data .*nope: not found \(no such file or directory\); expected a dataset name \(csv, "),
        (lambda p: (p / "d.txt").write_text("1 2\n"), "d.txt",
         r"--data .*d\.txt: unsupported extension '\.txt', expected \.npz, \.csv, \.npy or a folder"),
        (lambda p: np.savez(p / "z.npz", x_train=np.zeros((0, 3)), y_train=np.zeros(0, int)), "z.npz",
         r"z\.npz: the training set is empty \(inputs of shape \(0, 3\)\), expected at least 1 sample"),
    ],
)
def test_missing_unsupported_or_empty_data_says_what_is_wrong(tmp_path, capsys, make, data, message):
    if make is not None:
        make(tmp_path)
    err = _refused(capsys, "train", "--data", str(tmp_path / data), "--out", str(tmp_path / "runs"))
    assert re.search(message, err) and "unknown dataset" not in err, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "a/b"], "config: name: a run name is one directory name, without '/' (the run directory is "
                            "<out>/<name>-<time>); put parent directories in --out; got 'a/b'"),
        (["--set", "model.hidden=300,100"], "config: model.hidden: Input should be a valid list; got '300,100'; "
                                            "write a list in brackets, e.g. --set model.hidden=[300,100]"),
    ],
)
def test_a_run_name_with_a_slash_and_a_comma_list_are_explained(tmp_path, capsys, blobs_npz, args, message):
    err = _refused(capsys, "train", "--data", str(blobs_npz), "--out", str(tmp_path), *args)
    assert message in err


def test_a_keras_spelling_given_by_the_user_overrides_the_presets_lr(tmp_path, capsys, blobs_npz):
    run = _train(capsys, blobs_npz, tmp_path / "runs", "--preset", "guidelines", "--set",
                 "optimizer.learning_rate=0.01")
    optimizer = tomllib.loads((run / "config.toml").read_text())["optimizer"]
    assert optimizer["lr"] == 0.01 and "learning_rate" not in optimizer


def test_the_default_split_is_stratified_adapts_to_a_small_dataset_and_says_what_it_chose(tmp_path, capsys):
    x, y = _arrays(1797, features=64, classes=10)  # as many samples as sklearn's digits
    np.savez(tmp_path / "digits.npz", x_train=x, y_train=y)
    code, out, err = _run(capsys, "train", "--data", str(tmp_path / "digits.npz"), "--out", str(tmp_path / "runs"),
                          *TALKING)
    assert code == 0, err
    line = ("split: stratified by class with seed 42: train 1437, validation 180 (data.valid = 180, chosen "
            "automatically: 10% of the 1797 samples), test 180 (data.test = 180, chosen automatically: 10% of the "
            "1797 samples)")
    assert err.count(line) == 1 and err.index(line) < err.index("1/")  # once, before the first epoch's line
    assert line not in out
    (run,) = (tmp_path / "runs").iterdir()
    data = tomllib.loads((run / "config.toml").read_text())["data"]
    assert (data["valid"], data["test"], data["split"]) == (180, 180, "stratified")
    assert "test acc" in out


def test_the_validation_split_notice_prints_before_the_first_epoch_and_once(tmp_path, capsys):
    x, y = _arrays(600, features=8, classes=3)
    np.savez(tmp_path / "small.npz", x_train=x, y_train=y)
    code, out, err = _run(capsys, "train", "--data", str(tmp_path / "small.npz"), "--out", str(tmp_path / "runs"),
                          "--epochs", "2", "--set", "model.hidden=[8]")
    assert code == 0, err
    lines = err.splitlines()  # progress: stderr, one line per epoch under its header (pytest's capture is no terminal)
    first = "split: stratified by class with seed 42: train 480, validation 60 "
    notice = next(i for i, line in enumerate(lines) if line.startswith(first))
    assert lines[notice + 1].split()[:2] == ["epoch", "loss"] and lines[notice + 2].startswith("1/2 ")
    assert lines[notice + 3].startswith("2/2 ") and all(line.strip() for line in lines)  # no blank line, no bar
    assert "split:" not in out


def test_log_format_json_prints_each_epoch_as_a_json_object(tmp_path, capsys):
    x, y = _arrays(300, features=8, classes=3)
    np.savez(tmp_path / "small.npz", x_train=x, y_train=y)
    code, _, err = _run(capsys, "train", "--data", str(tmp_path / "small.npz"), "--out", str(tmp_path / "runs"),
                        "--epochs", "2", "--set", "model.hidden=[8]", "--log-format", "json")
    assert code == 0, err
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [r["event"] for r in records] == ["notice", "epoch", "epoch"] and records[2]["epochs"] == 2
    (run,) = (tmp_path / "runs").iterdir()
    assert tomllib.loads((run / "config.toml").read_text())["train"]["log_format"] == "json"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.hidden=[1000000000]", "would have 16,000,000,003 parameters"),  # refused before the directory
        ("regularization.layers={hidden9='l2'}", "regularization.layers: 'hidden9' names no layer"),  # after it
    ],
)
def test_a_train_refused_after_the_data_is_read_leaves_no_run_directory(tmp_path, capsys, blobs_npz, override,
                                                                        message):
    code, _, err = _run(capsys, "train", "--data", str(blobs_npz), "--out", str(tmp_path / "runs"), *SMALL,
                        "--set", override)
    assert code == 2 and message in err, err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_resume_after_an_optimizer_or_architecture_edit_names_the_checkpoint_and_the_field(tmp_path, capsys,
                                                                                        blobs_npz):
    run = _train(capsys, blobs_npz, tmp_path / "runs", "--set", "optimizer.name=nadam")
    config = run / "config.toml"
    original = config.read_text()
    for old, new, change in [
        ('name = "nadam"', 'name = "sgd"', "optimizer.name = 'nadam', but config.toml now says 'sgd'"),
        (re.search(r"hidden = \[\s*8,\s*\]", original).group(), "hidden = [9]",
         "model.hidden = [8], but config.toml now says [9]"),
    ]:
        config.write_text(original.replace(old, new))
        err = _refused(capsys, "train", "--resume", str(run), "--epochs", "2")
        assert f"--resume: the checkpoint {run / 'checkpoint'} was written with {change}; put {config} back" in err


def test_resume_of_a_run_killed_before_its_first_checkpoint_says_how_to_start_again(tmp_path, capsys, blobs_npz):
    run = _train(capsys, blobs_npz, tmp_path / "runs")
    for path in run.iterdir():  # what a run killed during its first epoch leaves: config.toml alone
        if path.name != "config.toml":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    err = _refused(capsys, "train", "--resume", str(run))
    assert (f"--resume {run}: no epoch had finished when the run stopped, so there is no checkpoint to continue "
            f"from; start it again with `deepfit train --config {run / 'config.toml'}`") in err


def test_resume_removes_the_temporary_files_of_a_killed_writer(tmp_path, capsys, blobs_npz):
    run = _train(capsys, blobs_npz, tmp_path / "runs")
    dead = 2**22 + 1  # above Linux's largest pid, so no process has it
    stale = [run / f".history.csv.{dead}.0123abcd.tmp", run / "checkpoint" / f".state.json.{dead}.deadbeef.tmp"]
    for path in stale:
        path.write_text("partial")
    code, _, err = _run(capsys, "train", "--resume", str(run), "--epochs", "2", "--quiet")
    assert code == 0, err
    assert list(run.rglob("*.tmp")) == []


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (np.zeros((4, 5), np.float32), r"in\.npy: expected samples of shape \(n, 12\) as the model was trained on, "
                                       r"found an array of shape \(4, 5\)"),
        (np.zeros(12, np.float32), r"expected samples of shape \(n, 12\) .* found an array of shape \(12,\)"),
        (np.where(np.eye(4, 12) > 0, np.nan, 0.0), r"in\.npy: predict inputs contain NaN or infinite values"),
        (np.zeros((4, 12)).astype(str), r"in\.npy: predict inputs must be numbers, got dtype <U32"),
    ],
)
def test_predict_refuses_wrong_shapes_nan_and_text_on_a_run_without_standardisation(tmp_path, capsys, run_dir,
                                                                                     inputs, message):
    np.save(tmp_path / "in.npy", inputs)
    err = _refused(capsys, "predict", str(run_dir), "--input", str(tmp_path / "in.npy"))
    assert re.search(message, err), err


def test_predict_reads_an_npy_input_and_reports_the_file_it_wrote(tmp_path, capsys, run_dir):
    x, _ = _arrays(5)
    np.save(tmp_path / "x.npy", x)
    code, out, err = _run(capsys, "predict", str(run_dir), "--input", str(tmp_path / "x.npy"),
                          "--output", str(tmp_path / "probs"))
    assert code == 0, err
    assert f"wrote 5 predictions to {tmp_path / 'probs.npz'}" in out
    assert np.load(tmp_path / "probs.npz")["probabilities"].shape == (5, 3)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("/proc/probs.npz", r"--output: cannot write /proc/probs\.npz: .*; choose another --output"),
        ("{tmp}/file/p.npz", r"--output .*file/p\.npz: .*file is a file, not a directory; choose another --output"),
        ("{tmp}", r"--output .*: is a directory; expected a file name such as .*predictions\.npz"),
    ],
)
def test_predict_output_that_cannot_be_written_is_named(tmp_path, capsys, run_dir, output, message):
    (tmp_path / "file").write_text("")
    np.save(tmp_path / "x.npy", _arrays(5)[0])
    err = _refused(capsys, "predict", str(run_dir), "--input", str(tmp_path / "x.npy"), "--output",
                   output.format(tmp=tmp_path))
    assert re.search(message, err), err


def test_data_npy_pair_named_by_comma_or_by_convention_trains(tmp_path, capsys):
    x, y = _arrays(120)
    np.save(tmp_path / "feats.npy", x)
    np.save(tmp_path / "labels.npy", y)
    run = _train(capsys, f"{tmp_path / 'feats.npy'},{tmp_path / 'labels.npy'}", tmp_path / "a")
    data = tomllib.loads((run / "config.toml").read_text())["data"]
    assert (data["name"], data["path"], data["labels"]) == ("npy", str(tmp_path / "feats.npy"),
                                                          str(tmp_path / "labels.npy"))
    np.save(tmp_path / "x_train.npy", x)
    np.save(tmp_path / "y_train.npy", y)
    run = _train(capsys, tmp_path, tmp_path / "b")  # a folder with x_train.npy + y_train.npy
    assert tomllib.loads((run / "config.toml").read_text())["data"]["path"] == str(tmp_path / "x_train.npy")


def test_data_folder_of_class_folders_trains_on_its_images(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls, value in (("dark", 30), ("light", 220)):
        (tmp_path / "img" / cls).mkdir(parents=True)
        for i in range(20):
            Image.fromarray((value + rng.integers(-20, 20, (6, 6))).astype(np.uint8)).save(
                tmp_path / "img" / cls / f"{i}.png")
    run = _train(capsys, tmp_path / "img", tmp_path / "runs", "--set", "data.image_size=[4, 4]", "--epochs", "3")
    data = tomllib.loads((run / "config.toml").read_text())["data"]
    assert (data["name"], data["image_size"]) == ("images", [4, 4])
    meta = (run / "model.json").read_text()
    assert '"dark"' in meta and '"light"' in meta and '"input_shape": [\n      1,\n      4,\n      4\n' in meta
