"""Turn raw arrays into `Splits`: carve out the validation set, keep a subset, encode labels, standardise.

The standardisation statistics are fitted on the final training split only, so nothing of the
validation or test data leaks into training. Data stays NumPy until the tensors are built at the end.
"""

from __future__ import annotations

import numpy as np
import torch

from deepfit.data.labels import encode_labels
from deepfit.data.tensors import Splits, TensorData, ValidSplit
from deepfit.errors import ConfigError, DataError, ShapeError

_Selection = slice | np.ndarray  # rows of the training file: a slice (a view) or sorted indices
_CHUNK_ROWS = 4096  # rows per pass when summing squared deviations: bounds the float64 temporary
AUTO_VALID_FRACTION = 0.1  # an automatic data.valid without a dataset's own split, as Keras users pass validation_split


def make_splits(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    *,
    valid: int | float | None = None,
    subset: int | None = None,
    standardize: bool = True,
    seed: int = 0,
    task: str = "multiclass",
    class_names: list[str] | None = None,
    source: str = "arrays",
    dataset_valid: int | None = None,
) -> Splits:
    """Train/valid/test `Splits` on the CPU from the arrays of a training file and an optional test file.

    Pixels stored as uint8 are divided by 255; every input becomes float32. With `standardize`, each
    feature is shifted and scaled by the mean and standard deviation of the training split (a zero
    std counts as 1), as Géron (ch. 11) does for Fashion-MNIST's pixels.

    Args:
        valid: an int >= 1 takes the FIRST `valid` training samples as the validation set (Géron ch. 11:
            `X_valid = X_train_full[:5000]`); a float in (0, 1) takes that fraction at random (seeded by
            `seed`); 0 means no validation set. None (the default) chooses, see `resolve_valid`.
        subset: keep only the first `subset` training samples left after the validation split; the
            validation and test sets are unchanged.
        task: "multiclass" (int64 labels), "binary" (float32 0/1) or "regression" (float32 targets).
        class_names: for multiclass, fixes `num_classes` to their number; otherwise it is the largest
            training label + 1.
        source: how errors name the data (a file, a folder or a dataset name).
        dataset_valid: the dataset's own validation count (`RawDataset.valid`), for `valid=None`.

    Raises:
        ConfigError: `valid`, `subset` or `task` is out of range (the message names `data.<field>`).
        ShapeError: x and y disagree in sample count, or train and test in sample shape.
        DataError: values are not numbers or not finite, or labels are outside the task's range.
    """
    x_train, y_train = np.asarray(x_train), np.asarray(y_train)
    _check_pair(x_train, y_train, source=source, split="train")
    if (x_test is None) != (y_test is None):
        raise ConfigError(f"{source}: give x_test and y_test together, got only one of them")
    if x_test is not None:
        x_test, y_test = np.asarray(x_test), np.asarray(y_test)
        _check_pair(x_test, y_test, source=source, split="test")
        if x_test.shape[1:] != x_train.shape[1:]:
            raise ShapeError(
                f"{source}: test samples have shape {x_test.shape[1:]}, expected {x_train.shape[1:]} "
                f"as in the training set"
            )
    y_train, y_test, num_classes = encode_labels(y_train, y_test, task=task, class_names=class_names, source=source)
    setting, auto = resolve_valid(valid, len(x_train), dataset_valid)
    train_rows, valid_rows = _valid_split(len(x_train), setting, seed)
    train_rows = _subset(train_rows, subset)

    xs = {"train": as_float_inputs(x_train[train_rows], source=source, split="train")}
    if valid_rows is not None:
        xs["valid"] = as_float_inputs(x_train[valid_rows], source=source, split="valid")
    if x_test is not None:
        xs["test"] = as_float_inputs(x_test, source=source, split="test")
    mean = std = None
    if standardize:
        mean, std = _fit_standardizer(xs["train"])
        for x in xs.values():
            x -= mean
            x /= std

    def part(split: str, y: np.ndarray | None) -> TensorData | None:
        if split not in xs:
            return None
        return TensorData(torch.from_numpy(xs[split]), torch.from_numpy(np.ascontiguousarray(y)))

    return Splits(
        train=part("train", y_train[train_rows]),
        valid=part("valid", None if valid_rows is None else y_train[valid_rows]),
        test=part("test", y_test),
        class_names=None if class_names is None else list(class_names),
        input_shape=tuple(int(d) for d in x_train.shape[1:]),
        num_classes=num_classes,
        mean=None if mean is None else torch.from_numpy(mean),
        std=None if std is None else torch.from_numpy(std),
        valid_split=ValidSplit(setting, len(xs["valid"]) if "valid" in xs else 0, auto,
                               seed if isinstance(setting, float) else None),
        input_dtype=str(x_train.dtype),
    )


def resolve_valid(
    valid: int | float | None, n: int, dataset_valid: int | None = None
) -> tuple[int | float, str | None]:
    """(the `data.valid` setting to use, why it was chosen or None when `valid` was given) for `n` samples.

    None chooses a count, so the split is the same for every seed: the dataset's own split `dataset_valid`
    (the first 5,000 of Fashion-MNIST, Géron ch. 10) when it leaves at least as many training samples, else
    the first `AUTO_VALID_FRACTION` of the samples (Keras's `validation_split` also takes a fixed slice,
    the last), else (fewer than 5 samples) none. A fixed 5,000 would refuse every dataset of 5,000 samples
    or fewer.
    """
    if valid is not None:
        return valid, None
    if dataset_valid is not None and 0 < dataset_valid <= n // 2:
        return int(dataset_valid), "the dataset's own split"
    count = round(AUTO_VALID_FRACTION * n)
    if 1 <= count < n:
        return count, f"{AUTO_VALID_FRACTION:.0%} of the {n} training samples"
    return 0, f"{n} training samples are too few to hold some out"


def _check_pair(x: np.ndarray, y: np.ndarray, *, source: str, split: str) -> None:
    if x.ndim < 2:
        raise ShapeError(f"{source}: {split} inputs must have shape (n, *sample_shape), got {x.shape}")
    if y.ndim < 1 or len(x) != len(y):
        raise ShapeError(f"{source}: {split} inputs hold {len(x)} samples but the labels have shape {y.shape}")
    if split == "train" and len(x) == 0:
        raise DataError(f"{source}: the training set is empty (inputs of shape {x.shape}), expected at least 1 sample")


def _valid_split(n: int, valid: int | float, seed: int) -> tuple[_Selection, _Selection | None]:
    """(training rows, validation rows or None) of a training file with `n` samples."""
    if isinstance(valid, bool) or not isinstance(valid, (int, float, np.integer, np.floating)):
        raise ConfigError(f"data.valid: expected a sample count or a fraction in (0, 1), got {valid!r}")
    if isinstance(valid, (int, np.integer)):
        if not 0 <= valid < n:
            raise ConfigError(
                f"data.valid: expected a count in [0, {n - 1}] (the training set has {n} samples), got {valid}"
            )
        return slice(int(valid), n), (slice(0, int(valid)) if valid else None)
    if not 0.0 < valid < 1.0:
        raise ConfigError(f"data.valid: expected a fraction in (0, 1) or a sample count, got {valid}")
    count = round(valid * n)
    if not 0 < count < n:
        raise ConfigError(
            f"data.valid: fraction {valid} of {n} samples gives {count} validation samples, "
            f"expected between 1 and {n - 1}"
        )
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[count:]), np.sort(order[:count])


def _subset(rows: _Selection, subset: int | None) -> _Selection:
    """The first `subset` of `rows`, which keep their file order."""
    if subset is None:
        return rows
    available = rows.stop - rows.start if isinstance(rows, slice) else len(rows)
    if isinstance(subset, bool) or not isinstance(subset, (int, np.integer)) or not 1 <= subset <= available:
        raise ConfigError(
            f"data.subset: expected a count in [1, {available}] (training samples left after the "
            f"validation split), got {subset!r}"
        )
    return slice(rows.start, rows.start + int(subset)) if isinstance(rows, slice) else rows[:subset]


def as_float_inputs(x: np.ndarray, *, source: str, split: str) -> np.ndarray:
    """A new float32 array; uint8 pixels are scaled to [0, 1]. `predict` converts its inputs here too, so a
    model sees what it was trained on.

    Raises:
        DataError: `x` holds strings or objects rather than numbers, or a NaN or infinite value.
    """
    if x.dtype.kind not in "biuf":
        raise DataError(f"{source}: {split} inputs must be numbers, got dtype {x.dtype}")
    if x.dtype == np.uint8:
        return np.divide(x, np.float32(255), dtype=np.float32)  # one pass, no uint8 -> float32 temporary
    out = x.astype(np.float32)
    if not np.isfinite(out).all():
        raise DataError(f"{source}: {split} inputs contain NaN or infinite values (or exceed float32)")
    return out


def _fit_standardizer(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std (ddof=0) of `x`, accumulated in float64, returned as float32."""
    mean = x.mean(axis=0, dtype=np.float64)  # (*sample_shape)
    squares = np.zeros_like(mean)
    for start in range(0, len(x), _CHUNK_ROWS):
        deviation = x[start : start + _CHUNK_ROWS] - mean  # (chunk, *sample_shape) float64
        squares += (deviation * deviation).sum(axis=0)
    std = np.sqrt(squares / len(x))
    std[std == 0] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)
