import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from deepfit.data import make_splits
from deepfit.data.partition import draw, draw_subset, resolve_method, selection
from deepfit.errors import ConfigError, DataError


def _sorted_by_label(n_per_class: int = 100, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A file sorted by label, as a CSV exported from a spreadsheet often is; feature 0 is the row number."""
    y = np.repeat(np.arange(classes), n_per_class)
    x = np.stack([np.arange(len(y)), np.random.default_rng(0).normal(size=len(y))], axis=1).astype(np.float32)
    return x, y


def _rows(data) -> list[int]:
    return data.x[:, 0].round().long().tolist()


def test_stratified_splits_keep_the_class_proportions_scikit_learn_keeps():
    y = np.repeat([0, 1, 2], [500, 300, 200])
    x = np.arange(len(y), dtype=np.float32)[:, None]
    splits = make_splits(x, y, valid=100, test=100, seed=3, standardize=False)
    *_, y_ref = train_test_split(x, y, test_size=100, stratify=y, random_state=0)
    expected = np.bincount(y_ref, minlength=3).tolist()
    assert expected == [50, 30, 20]
    assert splits.valid_split.class_counts["valid"] == expected
    assert splits.valid_split.class_counts["test"] == expected
    assert splits.valid_split.class_counts["train"] == [400, 240, 160]


def test_the_same_seed_gives_the_same_split_bit_for_bit_and_another_seed_another():
    x, y = _sorted_by_label()
    first, again, other = (make_splits(x, y, test=None, seed=s, standardize=False) for s in (7, 7, 8))
    for name in ("train", "valid", "test"):
        assert _rows(getattr(first, name)) == _rows(getattr(again, name))
    assert _rows(first.valid) != _rows(other.valid)
    everything = _rows(first.train) + _rows(first.valid) + _rows(first.test)
    assert sorted(everything) == list(range(300))  # disjoint and complete


def test_a_file_sorted_by_label_gets_every_class_in_every_split_by_default():
    x, y = _sorted_by_label()
    splits = make_splits(x, y, test=None, seed=0)
    counts = splits.valid_split.class_counts
    assert counts == {"train": [80, 80, 80], "valid": [10, 10, 10], "test": [10, 10, 10]}
    assert splits.valid_split.method == "stratified"


def test_split_first_of_a_sorted_file_is_a_one_class_validation_error_unless_asked_for():
    x, y = _sorted_by_label()
    with pytest.raises(DataError, match=r"the validation split \(30 samples, per class \[30, 0, 0\]\) holds class 0 "
                                        r"only, so validation loss and accuracy mean nothing"):
        make_splits(x, y, valid=30, test=None, dataset_valid=30)  # a dataset's own first rows, chosen automatically
    with pytest.warns(UserWarning, match=r"validation split \(30 samples, per class \[30, 0, 0\]\) holds class 0"):
        splits = make_splits(x, y, valid=30, test=None, split="first", standardize=False)
    assert _rows(splits.valid) == list(range(30)) and _rows(splits.test) == list(range(270, 300))


def test_a_split_missing_a_class_is_a_warning_naming_the_split_and_its_counts():
    y = np.array([0] * 20 + [1] * 20 + [2] * 2)
    x = np.arange(len(y), dtype=np.float32)[:, None]
    with pytest.warns(UserWarning, match=r"the test split \(5 samples, per class \[\d, \d, 0\]\) has no sample of "
                                         r"class 2"):
        make_splits(x, y, valid=0, test=5, split="random", seed=1)


def test_the_automatic_test_split_holds_at_least_one_sample_per_class():
    y = np.repeat(np.arange(5), 6)  # 30 samples: 10% would be 3, fewer than the 5 classes
    splits = make_splits(np.zeros((30, 2)), y, test=None, seed=0)
    assert splits.valid_split.test_setting == 5
    assert splits.valid_split.class_counts["test"] == [1, 1, 1, 1, 1]


def test_data_with_a_test_part_draws_no_test_split_and_refuses_a_test_count():
    x, y = _sorted_by_label(10)
    splits = make_splits(x, y, x[:6], y[:6], seed=0)
    assert len(splits.test) == 6 and splits.valid_split.test_setting is None
    with pytest.raises(ConfigError, match=r"data\.test: arrays has a test part of its own \(6 samples\)"):
        make_splits(x, y, x[:6], y[:6], test=3)


def test_regression_is_split_at_random_and_refuses_stratified():
    assert resolve_method(None, task="regression", own_split=False, valid=None) == "random"
    assert resolve_method(None, task="multiclass", own_split=True, valid=5000) == "first"
    assert resolve_method(None, task="multiclass", own_split=True, valid=0.1) == "stratified"
    with pytest.raises(ConfigError, match=r"data\.split: 'stratified' needs class labels"):
        resolve_method("stratified", task="regression", own_split=False, valid=None)


def test_a_class_with_a_single_sample_falls_back_to_a_random_draw_with_a_warning():
    y = np.array([0] * 10 + [1] * 10 + [2])
    with pytest.warns(UserWarning, match=r"drawn at random, not stratified: class\(es\) 2 have a single sample"):
        kept, held = draw(np.arange(21), y, 4, "stratified", 0)
    assert len(held) == 4 and sorted([*kept, *held]) == list(range(21))


def test_a_stratified_subset_of_sorted_rows_holds_every_class():
    y = np.repeat([0, 1, 2], 50)
    subset = draw_subset(np.arange(150), y, 30, "stratified", 0)
    assert np.bincount(y[subset]).tolist() == [10, 10, 10]
    assert draw_subset(np.arange(150), y, 30, "first", 0).tolist() == list(range(30))


def test_consecutive_rows_become_a_slice_so_indexing_gives_a_view():
    assert selection(np.arange(5, 9)) == slice(5, 9)
    assert selection(np.array([1, 3])).tolist() == [1, 3]
