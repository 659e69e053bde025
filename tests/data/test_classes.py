import numpy as np
import pytest

from deepfit.data import make_splits
from deepfit.data.classes import encode_classes
from deepfit.errors import DataError


def test_text_labels_are_encoded_in_sorted_order_with_their_names_kept():
    enc = encode_classes(np.array(["malignant", "benign", "benign"]), np.array(["benign"]), task="multiclass",
                         class_names=None, source="d.csv")
    assert enc.class_names == ["benign", "malignant"]
    assert enc.y_train.tolist() == [1, 0, 0] and enc.y_test.tolist() == [0]
    assert enc.label_values is None and enc.note is None


def test_numbers_other_than_0_to_c_are_renumbered_and_their_values_kept_with_a_note():
    enc = encode_classes(np.array([9, 3, 7, 3]), None, task="multiclass", class_names=None, source="d.npz")
    assert enc.y_train.tolist() == [2, 0, 1, 0]
    assert (enc.class_names, enc.label_values) == (["3", "7", "9"], [3, 7, 9])
    assert enc.note == "d.npz: labels {3, 7, 9} renumbered 0..2 in sorted order (3 -> 0, 7 -> 1, 9 -> 2); predict " \
                       "maps them back"


@pytest.mark.parametrize("y", [[0, 1, 2, 1], [1, 1, 1], [0.5, 1.0]])
def test_labels_already_0_to_c_or_refused_later_are_left_as_they_are(y):
    enc = encode_classes(np.array(y), None, task="multiclass", class_names=None, source="d")
    assert enc.y_train.tolist() == y and enc.class_names is None


def test_a_binary_task_with_text_labels_takes_the_second_name_as_positive():
    splits = make_splits(np.zeros((40, 2)), np.array(["no", "yes"] * 20), task="binary", seed=0)
    assert splits.class_names == ["no", "yes"] and splits.train.y.max().item() == 1.0
    with pytest.raises(DataError, match=r"d: task 'binary' needs two label values, found 3: 'a', 'b', 'c'"):
        encode_classes(np.array(["a", "b", "c"]), None, task="binary", class_names=None, source="d")


def test_a_label_column_with_too_many_distinct_values_is_refused_as_a_feature():
    with pytest.raises(DataError, match=r"t\.csv: label column 'price' has 50 distinct values in 200 rows \(more than "
                                        r"a tenth\), so it looks like a feature or an id"):
        encode_classes(np.arange(200) % 50, None, task="multiclass", class_names=None, source="t.csv",
                       label_column="price")
    encode_classes(np.arange(200) % 20, None, task="multiclass", class_names=None, source="t.csv", label_column="c")


def test_an_empty_text_label_names_its_row():
    with pytest.raises(DataError, match=r"d\.csv: training label 1 is empty"):
        encode_classes(np.array(["a", " ", "b"]), None, task="multiclass", class_names=None, source="d.csv")
