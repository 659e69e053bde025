"""Turn raw arrays into `Splits`: encode labels, hold out test and validation sets, keep a subset, standardise.

The standardisation statistics are fitted on the final training split only, so nothing of the
validation or test data leaks into training. Data stays NumPy until the tensors are built at the end.
"""

from __future__ import annotations

import numpy as np
import torch

from deepfit.data.classes import encode_classes
from deepfit.data.coverage import check_coverage
from deepfit.data.labels import check_task, encode_labels
from deepfit.data.partition import auto_count, draw, draw_subset, holdout_count, resolve_method, selection, sub_seed
from deepfit.data.tensors import Splits, TensorData, ValidSplit
from deepfit.errors import ConfigError, DataError, ShapeError

_CHUNK_ROWS = 4096  # rows per pass when summing squared deviations: bounds the float64 temporary


def make_splits(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    *,
    valid: int | float | None = None,
    test: int | float | None = None,
    split: str | None = None,
    subset: int | None = None,
    standardize: bool = True,
    seed: int = 0,
    task: str = "multiclass",
    class_names: list[str] | None = None,
    source: str = "arrays",
    dataset_valid: int | None = None,
    label_column: str | None = None,
) -> Splits:
    """Train/valid/test `Splits` on the CPU from the arrays of a training file and an optional test file.

    Labels are encoded first (`classes.encode_classes`: text labels and numbers other than 0..C-1 become
    indices into sorted class names). Then, without a test file, a test split is held out of the training file,
    then the validation split, each drawn by the `split` method (`partition`: stratified by class by default)
    with the run's `seed`. Pixels stored as uint8 are divided by 255; every input becomes float32. With
    `standardize`, each feature is shifted and scaled by the mean and standard deviation of the training split
    (a zero std counts as 1), as Géron (ch. 11) does for Fashion-MNIST's pixels.

    Args:
        valid: a count of validation samples, or a fraction of the samples left after the test split; 0 means
            no validation set. None (the default) chooses, see `resolve_valid`.
        test: without a test file, a count or a fraction of test samples held out of the training file; 0 means
            none; None (the default, `data.test = "auto"`): `partition.AUTO_FRACTION`, at least one sample per
            class where possible. With a test file it must be None or 0. (`from_arrays` and `from_torch`, given
            arrays from Python, default to 0: their caller passes a test set of its own.)
        split: "stratified", "random" or "first" (see `partition`); None: `first` for a dataset with its own
            validation split (`dataset_valid`), else stratified (random for regression).
        subset: keep only `subset` training samples left after the validation split (the first ones for
            `first`, else drawn like the held-out splits); the validation and test sets are unchanged.
        task: "multiclass" (int64 labels), "binary" (float32 0/1) or "regression" (float32 targets).
        class_names: names of the label indices 0..C-1; for multiclass, fixes `num_classes` to their number.
        source: how errors name the data (a file, a folder or a dataset name).
        dataset_valid: the dataset's own validation count (`RawDataset.valid`), for `valid=None`.
        label_column: the CSV column the labels came from, which must look like labels (see `encode_classes`).

    Raises:
        ConfigError: `valid`, `test`, `split`, `subset` or `task` is out of range (the message names
            `data.<field>`).
        ShapeError: x and y disagree in sample count, or train and test in sample shape.
        DataError: values are not numbers or not finite, labels are outside the task's range, or the
            validation split holds one class (see `coverage.check_coverage`).
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
    check_task(task)
    enc = encode_classes(y_train, y_test, task=task, class_names=class_names, source=source, label_column=label_column)
    class_names = enc.class_names
    y_train, y_test, num_classes = encode_labels(enc.y_train, enc.y_test, task=task, class_names=class_names,
                                                 source=source)
    method = resolve_method(split, task=task, own_split=dataset_valid is not None, valid=valid)
    classes = num_classes if task != "regression" else 0
    strata = y_train if task != "regression" else None
    rows = np.arange(len(x_train))
    test_setting = test_auto = None
    if x_test is None:  # hold a test split out of the training file, before the validation split
        test_setting, test_auto = (test, None) if test is not None else auto_count(len(rows), len(rows), classes,
                                                                                   what="test")
        test_setting = holdout_count(test_setting, len(rows), field="data.test")
        rows, test_rows = draw(rows, strata, test_setting, method, sub_seed(seed, 0), last=True, what="test")
        if test_setting:
            x_test, y_test = x_train[selection(test_rows)], y_train[test_rows]
    elif test:
        raise ConfigError(f"data.test: {source} has a test part of its own ({len(x_test)} samples), so no test split "
                          f"is drawn from the training data; expected data.test unset (\"auto\") or 0, got {test!r}")
    setting, auto = resolve_valid(valid, len(x_train), dataset_valid, left=len(rows), classes=classes)
    count = holdout_count(setting, len(rows), field="data.valid")
    train_rows, valid_rows = draw(rows, strata, count, method, sub_seed(seed, 1))
    train_rows = draw_subset(train_rows, strata, subset, method, sub_seed(seed, 2))

    xs = {"train": as_float_inputs(x_train[selection(train_rows)], source=source, split="train")}
    if len(valid_rows):
        xs["valid"] = as_float_inputs(x_train[selection(valid_rows)], source=source, split="valid")
    if x_test is not None:
        xs["test"] = as_float_inputs(x_test, source=source, split="test")
    mean = std = None
    if standardize:
        mean, std = _fit_standardizer(xs["train"])
        for x in xs.values():
            x -= mean
            x /= std
    ys = {"train": y_train[train_rows], "valid": y_train[valid_rows], "test": y_test}
    counts = None
    if task != "regression":
        counts = check_coverage({k: ys[k] for k in xs}, num_classes, source=source, method=method,
                                explicit=split is not None)

    def part(name: str) -> TensorData | None:
        if name not in xs:
            return None
        return TensorData(torch.from_numpy(xs[name]), torch.from_numpy(np.ascontiguousarray(ys[name])))

    record = ValidSplit(setting, len(valid_rows), auto, None if method == "first" else seed, method, test_setting,
                        0 if x_test is None else len(x_test), test_auto, len(xs["train"]), counts,
                        (enc.note,) if enc.note else ())
    return Splits(
        train=part("train"),
        valid=part("valid"),
        test=part("test"),
        class_names=None if class_names is None else list(class_names),
        input_shape=tuple(int(d) for d in x_train.shape[1:]),
        num_classes=num_classes,
        mean=None if mean is None else torch.from_numpy(mean),
        std=None if std is None else torch.from_numpy(std),
        valid_split=record,
        input_dtype=str(x_train.dtype),
        label_values=enc.label_values,
    )


def resolve_valid(
    valid: int | float | None, n: int, dataset_valid: int | None = None, *, left: int | None = None,
    classes: int = 0,
) -> tuple[int | float, str | None]:
    """(the `data.valid` setting to use, why it was chosen or None when `valid` was given) for a training file of
    `n` samples of which `left` (default `n`) remain after the test split, with `classes` classes.

    None chooses a count, so the split has the same size for every seed: the dataset's own split
    `dataset_valid` (the first 5,000 of Fashion-MNIST, Géron ch. 10) when it leaves at least as many training
    samples, else `partition.AUTO_FRACTION` of the `n` samples and at least one per class, else (too few
    samples) none. A fixed 5,000 would refuse every dataset of 5,000 samples or fewer.
    """
    left = n if left is None else left
    if valid is not None:
        return valid, None
    if dataset_valid is not None and 0 < dataset_valid <= left // 2:
        return int(dataset_valid), "the dataset's own split"
    return auto_count(n, left, classes, what="validation")


def _check_pair(x: np.ndarray, y: np.ndarray, *, source: str, split: str) -> None:
    if x.ndim < 2:
        raise ShapeError(f"{source}: {split} inputs must have shape (n, *sample_shape), got {x.shape}")
    if y.ndim < 1 or len(x) != len(y):
        raise ShapeError(f"{source}: {split} inputs hold {len(x)} samples but the labels have shape {y.shape}")
    if split == "train" and len(x) == 0:
        raise DataError(f"{source}: the training set is empty (inputs of shape {x.shape}), expected at least 1 sample")


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
