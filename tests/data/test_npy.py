"""`.npy` pairs: the labels found by the x -> y naming convention or named outright, a test pair beside a
train pair, and errors that name the missing partner or the lengths that differ."""

from __future__ import annotations

import numpy as np
import pytest

from deepfit.data import load_data
from deepfit.errors import DataError


def _save(folder, **arrays):
    for name, a in arrays.items():
        np.save(folder / f"{name}.npy", a)


def test_the_labels_are_the_file_named_with_y_and_a_test_pair_lies_beside(tmp_path):
    x = np.arange(40 * 3, dtype=np.float32).reshape(40, 3)
    y = np.arange(40) % 2
    _save(tmp_path, X_train=x, y_train=y, X_test=x[:10] + 1, y_test=y[:10])
    splits = load_data("npy", path=tmp_path / "X_train.npy", valid=0, standardize=False)
    np.testing.assert_array_equal(splits.train.x.numpy(), x)
    np.testing.assert_array_equal(splits.train.y.numpy(), y)
    np.testing.assert_array_equal(splits.test.x.numpy(), x[:10] + 1)
    assert splits.num_classes == 2


def test_a_labels_file_named_outright_is_used_and_a_column_of_labels_is_flattened(tmp_path):
    _save(tmp_path, features=np.ones((6, 2, 2)), targets=np.array([[0], [1], [2], [0], [1], [2]]))
    splits = load_data("npy", path=tmp_path / "features.npy", labels=tmp_path / "targets.npy", valid=0)
    assert splits.input_shape == (2, 2) and splits.train.y.tolist() == [0, 1, 2, 0, 1, 2]
    assert splits.test is None


def test_a_missing_partner_is_named_with_the_convention(tmp_path):
    _save(tmp_path, x_train=np.ones((5, 2)))
    with pytest.raises(DataError, match=r"y_train\.npy: not found; expected the labels of x_train\.npy \(x -> y in "
                                        r"the file name\); or give both files: --data X\.npy,LABELS\.npy"):
        load_data("npy", path=tmp_path / "x_train.npy")


def test_a_features_file_not_named_x_says_how_to_name_its_labels(tmp_path):
    _save(tmp_path, pixels=np.ones((5, 2)))
    with pytest.raises(DataError, match=r"pixels\.npy: cannot tell where its labels are; name the features x\*\.npy"):
        load_data("npy", path=tmp_path / "pixels.npy")


def test_lengths_that_differ_name_both_files(tmp_path):
    _save(tmp_path, x=np.ones((5, 2)), y=np.zeros(4))
    with pytest.raises(DataError, match=r"x\.npy holds 5 samples but y\.npy holds 4 labels .*one label per sample"):
        load_data("npy", path=tmp_path / "x.npy")


def test_a_test_features_file_without_its_labels_is_refused(tmp_path):
    _save(tmp_path, x_train=np.ones((5, 2)), y_train=np.zeros(5), x_test=np.ones((2, 2)))
    with pytest.raises(DataError, match=r"y_test\.npy: not found; expected the labels of x_test\.npy"):
        load_data("npy", path=tmp_path / "x_train.npy")


def test_an_object_array_is_refused_without_unpickling(tmp_path):
    np.save(tmp_path / "x.npy", np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    _save(tmp_path, y=np.zeros(3))
    with pytest.raises(DataError, match=r"x\.npy: not a readable \.npy array"):
        load_data("npy", path=tmp_path / "x.npy")
