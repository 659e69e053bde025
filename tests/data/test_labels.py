import numpy as np
import pytest

from deepfit.data.labels import encode_labels
from deepfit.errors import ConfigError, DataError, ShapeError


def _encode(y_train, y_test=None, *, task="multiclass", class_names=None):
    y_test = None if y_test is None else np.asarray(y_test)
    return encode_labels(np.asarray(y_train), y_test, task=task, class_names=class_names, source="src.npz")


def test_multiclass_labels_become_int64_and_count_classes_from_train():
    y_train, y_test, num_classes = _encode(np.array([0, 3, 1], dtype=np.uint8), [2, 0])
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert num_classes == 4


def test_multiclass_accepts_whole_number_floats():
    y_train, _, num_classes = _encode([0.0, 2.0])
    assert y_train.tolist() == [0, 2] and num_classes == 3


def test_class_names_fix_the_number_of_classes():
    assert _encode([0, 1], class_names=["a", "b", "c"])[2] == 3


def test_negative_labels_name_source_range_found_and_expected():
    with pytest.raises(DataError, match=r"src\.npz: train labels .* span \[-1, 2\], expected integers >= 0"):
        _encode([-1, 0, 2])


def test_fractional_labels_are_refused_for_multiclass():
    with pytest.raises(DataError, match=r"span \[0, 1.5\] \(e\.g\. 1\.5\), expected integers >= 0"):
        _encode([0.0, 1.5])


def test_test_labels_outside_the_training_range_are_refused():
    with pytest.raises(DataError, match=r"src\.npz: test labels .* span \[0, 5\], expected integers in \[0, 2\]"):
        _encode([0, 2, 1], [0, 5])


def test_labels_beyond_class_names_are_refused():
    with pytest.raises(DataError, match=r"train labels .* span \[0, 3\], expected integers in \[0, 1\]"):
        _encode([0, 3], class_names=["a", "b"])


def test_binary_labels_become_float32_zero_or_one():
    y_train, y_test, num_classes = _encode([0, 1, 1], [True, False], task="binary")
    assert y_train.dtype == np.float32 and y_train.tolist() == [0.0, 1.0, 1.0]
    assert y_test.tolist() == [1.0, 0.0] and num_classes == 2


def test_binary_labels_other_than_zero_and_one_are_refused():
    with pytest.raises(DataError, match=r"train labels for task 'binary' span \[0, 2\] \(e\.g\. 2\), expected 0 or 1"):
        _encode([0, 1, 2], task="binary")


def test_regression_targets_become_float32_without_class_count():
    y_train, _, num_classes = _encode([-1.5, 2.25], task="regression")
    assert y_train.dtype == np.float32 and y_train.tolist() == [-1.5, 2.25]
    assert num_classes is None


def test_non_finite_targets_are_refused():
    with pytest.raises(DataError, match="train label 1 is nan, expected a finite number"):
        _encode([0.5, np.nan], task="regression")


def test_labels_must_be_one_dimensional():
    with pytest.raises(ShapeError, match=r"train labels must have shape \(n,\), got \(2, 2\)"):
        _encode([[0, 1], [1, 0]])


def test_text_labels_are_refused():
    with pytest.raises(DataError, match="labels must be numbers, got dtype <U3"):
        _encode(["cat", "dog"])


def test_unknown_task_names_the_config_field():
    with pytest.raises(ConfigError, match=r"data\.task: expected one of multiclass, binary, regression, got 'multi'"):
        _encode([0, 1], task="multi")


def test_a_huge_label_is_refused_with_min_max_and_distinct_count():
    with pytest.raises(DataError, match=r"src\.npz: training labels have min 0, max 1000000000 and 3 distinct values, "
                                        r"which would make 1000000001 classes, 999999998 of them without a sample"):
        _encode([0, 1, 1, 10**9])


def test_labels_numbering_a_few_classes_sparsely_are_refused_but_one_based_labels_pass():
    with pytest.raises(DataError, match=r"renumber them 0\.\.1, or give class_names"):
        _encode([0, 7, 0, 7])
    assert _encode([1, 2, 3, 4, 5])[2] == 6


def test_a_single_class_is_refused_for_multiclass():
    with pytest.raises(DataError, match=r"every training label is 3: a multiclass task needs at least 2 classes"):
        _encode([3, 3, 3])


def test_a_single_class_is_warned_about_for_binary():
    with pytest.warns(UserWarning, match=r"every training label is 1: a binary classifier trained on one class"):
        _encode([1, 1, 1], task="binary")
