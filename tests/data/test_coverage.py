"""Whether each split holds every class (data/coverage.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from deepfit.data.coverage import check_coverage, class_counts
from deepfit.errors import DataError


def _check(labels: dict[str, list[int]], num_classes: int = 3, explicit: bool = False) -> dict[str, list[int]]:
    return check_coverage({k: np.array(v) for k, v in labels.items()}, num_classes, source="my.csv",
                          method="random", explicit=explicit)


def test_class_counts_count_every_class_including_absent_ones():
    assert class_counts(np.array([0, 2, 2, 0.0]), 4) == [2, 0, 2, 0]


def test_splits_holding_every_class_pass_silently_and_return_their_counts():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _check({"train": [0, 1, 2, 1], "valid": [2, 1, 0]}) == {"train": [1, 2, 1], "valid": [1, 1, 1]}


def test_a_validation_split_of_one_class_is_an_error_naming_the_counts_and_the_fix():
    with pytest.raises(DataError, match=r"my.csv: the validation split \(3 samples, per class \[0, 3, 0\]\) holds "
                                        r"class 1 only.*data.split = 'stratified'"):
        _check({"train": [0, 1, 2], "valid": [1, 1, 1]})


def test_a_one_class_validation_split_asked_for_explicitly_only_warns():
    with pytest.warns(UserWarning, match=r"validation split \(3 samples, per class \[0, 3, 0\]\) holds class 1 "
                                         r"only; figures on it mean little"):
        _check({"train": [0, 1, 2], "valid": [1, 1, 1]}, explicit=True)


def test_a_split_missing_a_class_it_could_hold_warns_with_the_missing_class():
    with pytest.warns(UserWarning, match=r"the test split \(4 samples, per class \[2, 2, 0\]\) has no sample of "
                                         r"class 2$"):
        _check({"train": [0, 1, 2], "test": [0, 1, 0, 1]})


def test_a_split_smaller_than_the_number_of_classes_is_not_blamed_for_missing_ones():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check({"train": [0, 1, 2], "test": [0, 1]})
