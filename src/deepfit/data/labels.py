"""Check labels against the task and encode them the way the losses expect.

multiclass -> int64 class indices in [0, num_classes) for cross-entropy; binary -> float32 0/1 for binary
cross-entropy on one logit; regression -> float32 values.
"""

from __future__ import annotations

import warnings

import numpy as np

from deepfit.errors import ConfigError, DataError, ShapeError

TASKS = ("multiclass", "binary", "regression")
MAX_CLASSES = 100_000  # an inferred class count above this is a label column of ids or values, not classes


def check_task(task: str) -> None:
    """Raise `ConfigError` naming `data.task` unless `task` is one of `TASKS`."""
    if task not in TASKS:
        raise ConfigError(f"data.task: expected one of {', '.join(TASKS)}, got {task!r}")


def encode_labels(
    y_train: np.ndarray,
    y_test: np.ndarray | None,
    *,
    task: str,
    class_names: list[str] | None,
    source: str,
) -> tuple[np.ndarray, np.ndarray | None, int | None]:
    """Checked and encoded `(y_train, y_test, num_classes)`.

    For multiclass, `num_classes` is `len(class_names)` when names are given, else the largest training
    label + 1, which must be plausible: at most `MAX_CLASSES`, with at least half of 0..C-1 present (labels
    {0, 1, 10**9} would build a 10**9-way output layer). Test labels must fall in the same range. A training
    set of one class is refused for multiclass and warned about for binary: it trains to 100% and says
    nothing. `num_classes` is 2 for binary and None for regression.

    Raises:
        ConfigError: an unknown task, or class names that do not fit a binary task.
        ShapeError: labels are not one-dimensional.
        DataError: labels are not numbers, not finite, or outside the range the task allows (the
            message names `source`, the range found and the range expected).
    """
    check_task(task)
    y_train, y_test = _no_bool(y_train), None if y_test is None else _no_bool(y_test)
    for split, y in (("train", y_train), ("test", y_test)):
        if y is not None:
            _check_numeric(y, source=source, split=split)
    if task == "regression":
        return y_train.astype(np.float32), _maybe(y_test, np.float32), None
    if task == "binary":
        if class_names is not None and len(class_names) != 2:
            raise ConfigError(f"task 'binary' needs 2 class names, got {len(class_names)}: {class_names}")
        for split, y in (("train", y_train), ("test", y_test)):
            if y is not None:
                _check_binary(y, source=source, split=split)
        if y_train.size and (y_train == y_train[0]).all():
            warnings.warn(
                f"{source}: every training label is {y_train[0]:g}: a binary classifier trained on one class "
                "predicts it everywhere, and its accuracy means nothing; check data.path and data.task",
                UserWarning,
                stacklevel=2,
            )
        return y_train.astype(np.float32), _maybe(y_test, np.float32), 2
    num_classes = len(class_names) if class_names is not None else None
    _check_classes(y_train, num_classes, source=source, split="train")
    if num_classes is None:
        num_classes = _inferred_classes(y_train, source=source)
    if y_test is not None:
        _check_classes(y_test, num_classes, source=source, split="test")
    return y_train.astype(np.int64), _maybe(y_test, np.int64), num_classes


def _no_bool(y: np.ndarray) -> np.ndarray:
    return y.astype(np.uint8) if y.dtype == np.bool_ else y


def _maybe(y: np.ndarray | None, dtype: type) -> np.ndarray | None:
    return None if y is None else y.astype(dtype)


def _check_numeric(y: np.ndarray, *, source: str, split: str) -> None:
    if y.ndim != 1:
        raise ShapeError(f"{source}: {split} labels must have shape (n,), got {y.shape}")
    if y.dtype.kind not in "biuf":
        raise DataError(f"{source}: {split} labels must be numbers, got dtype {y.dtype}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        index = int(np.flatnonzero(~np.isfinite(y))[0])
        raise DataError(f"{source}: {split} label {index} is {y[index]}, expected a finite number")


def _check_classes(y: np.ndarray, num_classes: int | None, *, source: str, split: str) -> None:
    """Labels must be whole numbers in [0, num_classes) (or >= 0 while num_classes is unknown)."""
    if y.size == 0:
        return
    lo, hi = y.min(), y.max()
    expected = f"integers in [0, {num_classes - 1}]" if num_classes is not None else "integers >= 0"
    fractional = y.dtype.kind == "f" and not np.array_equal(y, np.round(y))
    if fractional or lo < 0 or (num_classes is not None and hi >= num_classes):
        example = f" (e.g. {y[y != np.round(y)][0]:g})" if fractional else ""
        raise DataError(
            f"{source}: {split} labels for task 'multiclass' span [{lo:g}, {hi:g}]{example}, expected {expected}"
        )


def _inferred_classes(y: np.ndarray, *, source: str) -> int:
    """The class count of training labels already known to be whole numbers >= 0: the largest + 1."""
    if y.size == 0:
        return 0
    values = np.unique(y)
    count = int(values[-1]) + 1
    if len(values) == 1:
        raise DataError(
            f"{source}: every training label is {int(values[0])}: a multiclass task needs at least 2 classes "
            "(a one-class classifier scores 100% and learns nothing); check data.path, or data.task"
        )
    if count > MAX_CLASSES or count - len(values) > len(values):
        raise DataError(
            f"{source}: training labels have min {int(values[0])}, max {int(values[-1])} and {len(values)} distinct "
            f"values, which would make {count} classes, {count - len(values)} of them without a sample; expected "
            f"labels 0..C-1 with C at most {MAX_CLASSES}: renumber them 0..{len(values) - 1}, or give class_names"
        )
    return count


def _check_binary(y: np.ndarray, *, source: str, split: str) -> None:
    bad = (y != 0) & (y != 1)
    if bad.any():
        raise DataError(
            f"{source}: {split} labels for task 'binary' span [{y.min():g}, {y.max():g}] "
            f"(e.g. {y[bad][0]:g}), expected 0 or 1"
        )
