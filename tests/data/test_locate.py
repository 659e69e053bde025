"""Which source a `--data` value stands for (data/locate.py)."""

from __future__ import annotations

import numpy as np
import pytest

from deepfit.data.locate import locate_source
from deepfit.errors import DataError


@pytest.mark.parametrize(("value", "expected"), [
    ("my.csv", ("csv", {"path": "my.csv"})),
    ("data/arrays.npz", ("npz", {"path": "data/arrays.npz"})),
    ("x.npy", ("npy", {"path": "x.npy"})),
    ("x.npy,y.npy", ("npy", {"path": "x.npy", "labels": "y.npy"})),
    ("fashion_mnist", ("fashion_mnist", {})),
])
def test_files_go_by_extension_and_names_to_the_registry(value, expected):
    assert locate_source(value) == expected


def test_an_unknown_plain_name_is_left_to_the_registry():
    assert locate_source("no_such_dataset") == ("no_such_dataset", {})


def test_folders_go_by_what_they_hold(tmp_path):
    pair = tmp_path / "pair"
    pair.mkdir()
    np.save(pair / "x_train.npy", np.zeros((2, 2)))
    assert locate_source(str(pair)) == ("npy", {"path": str(pair / "x_train.npy")})
    images = tmp_path / "images"
    (images / "cats").mkdir(parents=True)
    assert locate_source(str(images)) == ("images", {"dir": str(images)})
    idx = tmp_path / "idx"
    idx.mkdir()
    (idx / "train-images-idx3-ubyte.gz").write_bytes(b"")
    (idx / "cats").mkdir()  # IDX files win over sub-folders
    assert locate_source(str(idx)) == ("idx", {"dir": str(idx)})
    empty = tmp_path / "empty"
    (empty / ".hidden").mkdir(parents=True)
    assert locate_source(str(empty)) == ("idx", {"dir": str(empty)})  # whose error lists the missing files


def test_an_existing_file_of_another_type_is_refused_with_the_types_expected(tmp_path):
    (tmp_path / "data.txt").write_text("1,2")
    (tmp_path / "data").write_text("1,2")
    with pytest.raises(DataError, match=r"data\.txt: unsupported extension '\.txt', expected \.npz, \.csv, \.npy or a"):
        locate_source(str(tmp_path / "data.txt"))
    with pytest.raises(DataError, match="a file without an extension, expected"):
        locate_source(str(tmp_path / "data"))


@pytest.mark.parametrize("value", ["missing/folder", "missing.parquet"])
def test_a_missing_path_is_not_found_with_every_kind_listed(value):
    with pytest.raises(DataError, match=rf"--data {value}: not found \(no such file or directory\); expected a "
                                        r"dataset name \(.*fashion_mnist.*\), an \.npz, \.csv or \.npy file, or a fo"):
        locate_source(value)
