"""Own data through `deepfit train` and `deepfit predict`, as a new user brings it: a CSV sorted by its text label
column, an image folder of three classes, labels that are not 0..C-1."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import tomllib

from deepfit.cli.main import main

TINY = ["--epochs", "1", "--set", "model.hidden=[8]", "--set", "train.engine=eager", "--set", "train.threads=1"]


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _sorted_csv(path, n_per_class: int = 40):
    """A table sorted by its text label column, as a spreadsheet export often is."""
    rng = np.random.default_rng(0)
    rows = [(name, *(rng.normal(size=3) + k)) for k, name in enumerate(["benign", "malignant"])
            for _ in range(n_per_class)]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["diagnosis", "radius", "texture", "area"])
        writer.writerows(rows)
    return path


def test_a_csv_sorted_by_text_labels_is_split_stratified_and_predict_names_the_classes(tmp_path, capsys):
    data = _sorted_csv(tmp_path / "cells.csv")
    code, out, err = _run(capsys, "train", "--data", str(data), "--out", str(tmp_path / "runs"), *TINY,
                          "--set", "data.label_column=diagnosis")
    assert code == 0, err
    assert ("split: stratified by class with seed 42: train 64, validation 8 (data.valid = 8, chosen automatically: "
            "10% of the 80 samples), test 8") in err  # the progress stream, before the first epoch
    assert "test acc" in out
    (run,) = (tmp_path / "runs").iterdir()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["validation_split"]["class_counts"] == {"train": [32, 32], "valid": [4, 4], "test": [4, 4]}
    assert json.loads((run / "model.json").read_text())["class_names"] == ["benign", "malignant"]
    assert "stratified by class, seed 42: 8 validation" in (run / "report.html").read_text()
    code, out, _ = _run(capsys, "evaluate", str(run))  # the recorded split, drawn again: the same test rows
    assert code == 0 and f"acc {metrics['test']['acc']:.4f}" in out

    x = np.loadtxt(data, delimiter=",", skiprows=1, usecols=(1, 2, 3))
    np.save(tmp_path / "x.npy", x)
    assert main(["predict", str(run), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "p.csv")]) == 0
    with (tmp_path / "p.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["prediction", "predicted_name", "p(benign)", "p(malignant)"]
    assert len(rows) == 80 and {r["predicted_name"] for r in rows} <= {"benign", "malignant"}
    assert all(r["predicted_name"] == ["benign", "malignant"][int(r["prediction"])] for r in rows)
    assert main(["predict", str(run), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "p.npz")]) == 0
    with np.load(tmp_path / "p.npz") as p:
        assert p["class_names"].tolist() == ["benign", "malignant"]
        assert p["predicted_names"].tolist() == [["benign", "malignant"][k] for k in p["predictions"]]


def test_labels_3_7_9_are_renumbered_and_predict_maps_them_back(tmp_path, capsys):
    rng = np.random.default_rng(1)
    y = np.repeat([3, 7, 9], 30)
    x = rng.normal(size=(90, 4)).astype(np.float32) + (y[:, None] == 7)
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y)
    code, _out, err = _run(capsys, "train", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "runs"), *TINY)
    assert code == 0, err
    assert "labels {3, 7, 9} renumbered 0..2 in sorted order (3 -> 0, 7 -> 1, 9 -> 2); predict maps them back" in err
    (run,) = (tmp_path / "runs").iterdir()
    np.save(tmp_path / "x.npy", x[:10])
    assert main(["predict", str(run), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "p.npz")]) == 0
    with np.load(tmp_path / "p.npz") as p:
        assert p["predicted_labels"].tolist() == [[3, 7, 9][k] for k in p["predictions"]]
        assert set(p["predicted_labels"].tolist()) <= {3, 7, 9}


@pytest.mark.slow
def test_an_image_folder_of_three_classes_trains_with_every_class_in_validation_and_test(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("cat", "dog", "owl"):
        (tmp_path / "photos" / name).mkdir(parents=True)
        for i in range(30):
            pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "photos" / name / f"{i}.png")
    code, _out, err = _run(capsys, "train", "--data", str(tmp_path / "photos"), "--out", str(tmp_path / "runs"), *TINY)
    assert code == 0, err
    assert "split: stratified by class with seed 42: train 72, validation 9" in err and "test 9" in err
    (run,) = (tmp_path / "runs").iterdir()
    counts = json.loads((run / "metrics.json").read_text())["validation_split"]["class_counts"]
    assert counts == {"train": [24, 24, 24], "valid": [3, 3, 3], "test": [3, 3, 3]}
    assert tomllib.loads((run / "config.toml").read_text())["data"]["split"] == "stratified"
    assert json.loads((run / "model.json").read_text())["class_names"] == ["cat", "dog", "owl"]


def test_split_first_on_sorted_data_is_refused_when_chosen_automatically_and_kept_when_asked(tmp_path, capsys):
    data = _sorted_csv(tmp_path / "cells.csv")
    code, _, err = _run(capsys, "train", "--data", str(data), "--out", str(tmp_path / "runs"), *TINY, "--quiet",
                        "--set", "data.split=first", "--set", "data.valid=8")
    assert code == 0, err
    assert "validation split (8 samples, per class [8, 0]) holds class 0 only" in err
    assert "test split (8 samples, per class [0, 8]) holds class 1 only" in err


def _one_class_folder(root):
    from PIL import Image

    (root / "cats").mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(root / "cats" / "a.png")


def _unreadable_class(root):
    from PIL import Image

    for name in ("cats", "dogs"):
        (root / name).mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(root / "cats" / "a.png")
    (root / "dogs" / "b.png").write_bytes(b"not a png")


def _mixed_sizes(root):
    from PIL import Image

    for name, size in (("cats", (4, 4)), ("dogs", (5, 4))):
        (root / name).mkdir(parents=True)
        Image.fromarray(np.zeros(size, np.uint8)).save(root / name / "a.png")


def _id_column(root):
    root.mkdir()
    (root / "t.csv").write_text("label,a\n" + "".join(f"{i},{i * 0.5}\n" for i in range(200)))


@pytest.mark.parametrize(
    ("make", "target", "message"),
    [
        (_id_column, "t.csv", r"t\.csv: label column 'label' has 200 distinct values in 200 rows \(more than a tenth"),
        (_one_class_folder, "", r"one class folder \(cats/\), expected at least 2 class sub-folders"),
        (_unreadable_class, "", r"dogs: no readable image in this class folder \(e\.g\. b\.png: "),
        (_mixed_sizes, "", r"a\.png: 5x4 pixels, but .*a\.png has 4x4; images of mixed sizes need data\.image_size"),
    ],
)
def test_bad_own_data_exits_2_with_one_line_naming_the_file_expected_and_found(tmp_path, capsys, make, target,
                                                                              message):
    import re

    make(tmp_path / "data")
    code, _, err = _run(capsys, "train", "--data", str(tmp_path / "data" / target) if target else
                        str(tmp_path / "data"), "--out", str(tmp_path / "runs"), *TINY, "--quiet")
    assert code == 2
    assert re.search(message, err), err
    assert len(err.strip().splitlines()) <= 2
    assert not (tmp_path / "runs").exists()
