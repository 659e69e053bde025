"""Class labels as the user has them, turned into indices 0..C-1 with their names kept (scikit-learn's
`LabelEncoder` convention: classes in sorted order), so `predict` can say `malignant` rather than `1`.

Text labels (`malignant`/`benign`) are encoded in sorted order; numbers that are not 0..C-1 ({3, 7, 9}) are
renumbered in sorted order and their values kept, so predictions map back to them. Labels that are already
0..C-1, and labels with names given beside them (an .npz's `class_names`), are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepfit.errors import DataError

_SHOWN = 5  # label values a note or an error quotes
MIN_LABEL_DISTINCT = 10  # a label column with at most this many distinct values is never taken for a feature


@dataclass(frozen=True)
class Encoded:
    """Labels as indices, with the class names and original values they stand for (None: labels were already
    0..C-1); `note` is the one line that says what was renumbered (None when nothing was)."""

    y_train: np.ndarray
    y_test: np.ndarray | None
    class_names: list[str] | None
    label_values: list[int | float] | None = None
    note: str | None = None


def encode_classes(
    y_train: np.ndarray, y_test: np.ndarray | None, *, task: str, class_names: list[str] | None, source: str,
    label_column: str | None = None,
) -> Encoded:
    """`y_train`/`y_test` with text labels, or numbers other than 0..C-1, as indices into sorted class names.

    With `label_column` (a CSV's), a multiclass column with more distinct values than a tenth of its rows (and
    more than `MIN_LABEL_DISTINCT`) is refused: it is a feature or an id, not a label.

    Raises:
        DataError: a binary task whose labels are not two values, an empty text label, or a label column that
            looks like a feature (the message names `source`, the column and the counts).
    """
    y_train = np.asarray(y_train)
    y_test = None if y_test is None else np.asarray(y_test)
    text = y_train.dtype.kind in "USO" or (y_test is not None and y_test.dtype.kind in "USO")
    if task == "regression" or y_train.ndim != 1:
        return Encoded(y_train, y_test, class_names)  # regression targets, or a shape error later
    if label_column is not None and task == "multiclass":
        _looks_like_labels(len(np.unique(y_train)), len(y_train), source=source, column=label_column)
    if class_names is not None and not text:
        return Encoded(y_train, y_test, class_names)  # indices of the names given
    if not text and (y_train.dtype.kind not in "biuf" or not _whole(y_train) or not _whole(y_test)):
        return Encoded(y_train, y_test, class_names)  # fractions or non-numbers: encode_labels says what is wrong
    parts = [y_train] if y_test is None else [y_train, y_test]
    if text:
        parts = [p.astype(str) for p in parts]
        _no_empty(parts[0], source=source)
    values = np.unique(np.concatenate(parts))
    if task == "binary" and text and len(values) != 2:
        raise DataError(f"{source}: task 'binary' needs two label values, found {len(values)}: {_quote(values)}")
    if not text and (len(values) < 2 or np.array_equal(values, np.arange(len(values))) or (task == "binary" and (
            len(values) != 2 or set(values.tolist()) <= {0, 1}))):
        return Encoded(y_train, y_test, class_names)  # already 0..C-1, or one class: encode_labels says what is wrong
    codes = [np.searchsorted(values, p).astype(np.int64) for p in parts]
    names = [str(v) for v in values] if text else [f"{v:g}" for v in values]
    label_values = None if text else [v.item() for v in values]
    note = None
    if not text:
        pairs = ", ".join(f"{name} -> {k}" for k, name in enumerate(names[:_SHOWN]))
        note = (f"{source}: labels {{{', '.join(names[:_SHOWN])}{', ...' if len(names) > _SHOWN else ''}}} "
                f"renumbered 0..{len(names) - 1} in sorted order ({pairs}); predict maps them back")
    return Encoded(codes[0], codes[1] if len(codes) > 1 else None, names, label_values, note)


def _whole(y: np.ndarray | None) -> bool:
    if y is None or y.dtype.kind in "biu":
        return True
    return y.dtype.kind == "f" and bool(np.isfinite(y).all()) and np.array_equal(y, np.round(y))


def _no_empty(y: np.ndarray, *, source: str) -> None:
    empty = np.flatnonzero(np.char.strip(y) == "")
    if len(empty):
        raise DataError(f"{source}: training label {int(empty[0])} is empty; expected a class name in every row")


def _looks_like_labels(distinct: int, rows: int, *, source: str, column: str) -> None:
    if distinct > max(rows / 10, MIN_LABEL_DISTINCT):
        raise DataError(
            f"{source}: label column {column!r} has {distinct} distinct values in {rows} rows (more than a tenth), "
            "so it looks like a feature or an id rather than class labels; name the label column with "
            "data.label_column, or set data.task = 'regression' for a numeric target"
        )


def _quote(values: np.ndarray) -> str:
    shown = ", ".join(repr(str(v)) for v in values[:_SHOWN])
    return shown + (", ..." if len(values) > _SHOWN else "")
