import numpy as np
import pytest
import torch

from deepfit.data import make_splits
from deepfit.errors import ConfigError, DataError, ShapeError


def _numbered(n: int, features: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose first feature is the row number, so every split says which rows it holds."""
    x = np.zeros((n, features), dtype=np.float32)
    x[:, 0] = np.arange(n)
    return x, np.arange(n) % 3


def _rows(data) -> list[int]:
    return data.x[:, 0].round().long().tolist()


def test_split_first_takes_the_first_samples_as_validation_set_as_the_chapter_does():
    splits = make_splits(*_numbered(10), valid=3, test=0, split="first", standardize=False)
    assert _rows(splits.valid) == [0, 1, 2]
    assert _rows(splits.train) == [3, 4, 5, 6, 7, 8, 9]
    assert splits.valid.y.tolist() == [0, 1, 2]


def test_fraction_valid_is_a_seeded_random_disjoint_split():
    x, y = _numbered(40)
    first = make_splits(x, y, valid=0.25, test=0, seed=1, standardize=False)
    again = make_splits(x, y, valid=0.25, test=0, seed=1, standardize=False)
    other = make_splits(x, y, valid=0.25, test=0, seed=2, standardize=False)
    assert len(first.valid) == 10 and len(first.train) == 30
    assert _rows(first.valid) == _rows(again.valid)
    assert _rows(first.valid) != _rows(other.valid)
    assert sorted(_rows(first.valid) + _rows(first.train)) == list(range(40))
    assert _rows(first.valid) != list(range(10))


def test_valid_zero_means_no_validation_set():
    splits = make_splits(*_numbered(5), valid=0)
    assert splits.valid is None and len(splits.train) == 5


@pytest.mark.parametrize(
    ("valid", "message"),
    [
        (10, r"data\.valid: expected a count in \[0, 9\] \(the training set has 10 samples\), got 10"),
        (-1, r"data\.valid: expected a count in \[0, 9\]"),
        (1.5, r"data\.valid: expected a fraction in \(0, 1\) or a sample count, got 1\.5"),
        (0.0, r"data\.valid: expected a fraction in \(0, 1\)"),
        (0.01, r"data\.valid: fraction 0\.01 of 10 samples gives 0 samples"),
        ("5", r"data\.valid: expected a sample count or a fraction in \(0, 1\), got '5'"),
        (True, r"data\.valid: expected a sample count"),
    ],
)
def test_bad_valid_values_name_the_field_expected_and_got(valid, message):
    with pytest.raises(ConfigError, match=message):
        make_splits(*_numbered(10), valid=valid, test=0)


def test_subset_of_split_first_keeps_the_first_training_samples_after_the_validation_split():
    x, y = _numbered(10)
    splits = make_splits(x, y, np.ones((2, 3)), [0, 1], valid=3, subset=4, split="first", standardize=False)
    assert _rows(splits.train) == [3, 4, 5, 6]
    assert len(splits.valid) == 3 and len(splits.test) == 2


def test_a_stratified_subset_is_drawn_from_the_training_rows_with_every_class():
    splits = make_splits(*_numbered(40), valid=0.5, test=0, subset=6, standardize=False)
    full = make_splits(*_numbered(40), valid=0.5, test=0, standardize=False)
    assert set(_rows(splits.train)) < set(_rows(full.train))
    assert sorted(splits.train.y.tolist()) == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("subset", [0, 8, 2.5])
def test_subset_outside_available_samples_names_the_field(subset):
    with pytest.raises(ConfigError, match=r"data\.subset: expected a count in \[1, 7\] .* got"):
        make_splits(*_numbered(10), valid=3, test=0, subset=subset)


def test_uint8_pixels_are_scaled_to_unit_range_as_float32():
    x = np.array([[0, 51, 255]], dtype=np.uint8).repeat(2, axis=0)
    splits = make_splits(x, [0, 1], valid=0, standardize=False)
    assert splits.train.x.dtype == torch.float32
    assert splits.train.x[0].tolist() == pytest.approx([0.0, 0.2, 1.0])
    assert splits.mean is None and splits.std is None


def test_standardisation_statistics_equal_those_of_the_training_split():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(50, 2, 3)).astype(np.float32)
    splits = make_splits(x, np.arange(50) % 2, valid=10, test=0, split="first")
    train = x[10:]
    np.testing.assert_allclose(splits.mean.numpy(), train.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(splits.std.numpy(), train.std(axis=0), rtol=1e-5)
    assert splits.mean.shape == (2, 3) == splits.input_shape
    np.testing.assert_allclose(splits.train.x.mean(dim=0).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(splits.train.x.std(dim=0, unbiased=False).numpy(), 1.0, atol=1e-5)
    np.testing.assert_allclose(splits.valid.x.numpy(), (x[:10] - train.mean(0)) / train.std(0), rtol=1e-4)


def test_standardisation_never_sees_validation_or_test_data():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(30, 4)).astype(np.float32), np.arange(30) % 2
    x_test = rng.normal(size=(5, 4)).astype(np.float32)
    base = make_splits(x, y, x_test, y[:5], valid=6, split="first")
    x_wild, x_test_wild = x.copy(), x_test * 1000 + 50
    x_wild[:6] = -7e3  # the validation rows
    wild = make_splits(x_wild, y, x_test_wild, y[:5], valid=6, split="first")
    assert torch.equal(base.mean, wild.mean) and torch.equal(base.std, wild.std)
    assert torch.equal(base.train.x, wild.train.x)
    assert not torch.allclose(base.test.x, wild.test.x)


def test_constant_features_keep_std_one_instead_of_dividing_by_zero():
    x = np.stack([np.full(6, 4.0), np.arange(6.0)], axis=1)
    splits = make_splits(x, np.arange(6) % 2, valid=0, test=0)
    assert splits.std[0].item() == 1.0
    assert torch.equal(splits.train.x[:, 0], torch.zeros(6))


def test_binary_task_gives_float_targets_and_two_classes():
    splits = make_splits(*_numbered(6)[:1], np.array([0, 1, 1, 0, 1, 0]), valid=2, test=0, task="binary")
    assert splits.train.y.dtype == torch.float32 and splits.num_classes == 2
    assert sorted(splits.valid.y.tolist()) == [0.0, 1.0]


def test_regression_task_gives_float_targets_and_no_class_count():
    splits = make_splits(*_numbered(6)[:1], np.linspace(-1, 1, 6), valid=0, task="regression")
    assert splits.train.y.dtype == torch.float32 and splits.num_classes is None
    assert splits.train.y[-1].item() == 1.0


def test_multiclass_gives_int64_labels_and_class_count_from_full_training_file():
    x, _ = _numbered(6)
    splits = make_splits(x, np.array([2, 0, 1, 0, 1, 0]), valid=1, test=0, split="first")  # 2: validation only
    assert splits.train.y.dtype == torch.int64 and splits.num_classes == 3


def test_x_and_y_of_different_lengths_name_both():
    with pytest.raises(ShapeError, match=r"arrays: train inputs hold 4 samples but the labels have shape \(3,\)"):
        make_splits(np.zeros((4, 2)), np.zeros(3))


def test_test_samples_must_match_training_sample_shape():
    with pytest.raises(ShapeError, match=r"test samples have shape \(3,\), expected \(2,\)"):
        make_splits(np.zeros((4, 2)), np.zeros(4, dtype=int), np.zeros((1, 3)), [0], valid=0)


def test_x_test_without_y_test_is_refused():
    with pytest.raises(ConfigError, match="give x_test and y_test together"):
        make_splits(np.zeros((4, 2)), np.zeros(4, dtype=int), np.zeros((1, 2)), None)


def test_non_finite_inputs_name_the_source_and_split():
    x = np.zeros((4, 2))
    x[0, 0] = np.inf
    with pytest.raises(DataError, match=r"data\.npz: valid inputs contain NaN or infinite values"):
        make_splits(x, np.arange(4) % 2, valid=1, test=0, split="first", source="data.npz")


def test_an_empty_training_set_says_so_instead_of_an_empty_range():
    with pytest.raises(DataError, match=r"z\.npz: the training set is empty \(inputs of shape \(0, 3\)\)"):
        make_splits(np.zeros((0, 3)), np.zeros(0, dtype=int), source="z.npz")


@pytest.mark.parametrize(
    ("n", "dataset_valid", "classes", "expected"),
    [
        (60000, 5000, 10, (5000, "the dataset's own split")),  # Fashion-MNIST: Géron's first 5,000
        (8000, 5000, 10, (800, "10% of the 8000 samples")),  # too small for the dataset's own split
        (1797, None, 10, (180, "10% of the 1797 samples")),  # sklearn's digits
        (40, None, 10, (10, "10% of the 40 samples")),  # at least one sample per class
        (15, None, 10, (0, "15 samples are too few to hold out a validation split")),  # 10 would leave 5
        (4, None, 0, (0, "4 samples are too few to hold out a validation split")),  # 10% of 4 rounds to 0
    ],
)
def test_automatic_valid_adapts_to_the_dataset_and_its_size(n, dataset_valid, classes, expected):
    from deepfit.data.splits import resolve_valid

    assert resolve_valid(None, n, dataset_valid, classes=classes) == expected
    assert resolve_valid(300, n, dataset_valid) == (300, None)


def test_automatic_valid_and_test_of_a_small_dataset_are_recorded_and_described():
    x, y = _numbered(1797)
    splits = make_splits(x, y, test=None, seed=4, standardize=False)  # test=None: data.test = "auto"
    assert (len(splits.valid), len(splits.test), len(splits.train)) == (180, 180, 1437)
    assert (splits.valid_split.setting, splits.valid_split.test_setting) == (180, 180)
    assert splits.valid_split.describe() == (
        "split: stratified by class with seed 4: train 1437, validation 180 (data.valid = 180, chosen "
        "automatically: 10% of the 1797 samples), test 180 (data.test = 180, chosen automatically: 10% of the "
        "1797 samples)"
    )
    assert make_splits(x, y, valid=0.5, test=0, split="random", seed=4).valid_split.describe() == (
        "split: drawn at random with seed 4: train 899, validation 898 (data.valid = 0.5), no test (data.test = 0)"
    )
