"""Whether each split holds every class: a split without some class, or of one class only, misleads every figure
computed on it (a validation split of one class reads accuracy 1.0 from the first epoch)."""

from __future__ import annotations

import warnings

import numpy as np

from deepfit.errors import DataError

SPLIT_NAMES = {"train": "training", "valid": "validation", "test": "test"}


def class_counts(y: np.ndarray, num_classes: int) -> list[int]:
    """Samples per class 0..num_classes-1 of integer (or 0/1) labels `y`."""
    return np.bincount(y.astype(np.int64), minlength=num_classes).tolist()


def check_coverage(
    labels: dict[str, np.ndarray], num_classes: int, *, source: str, method: str, explicit: bool
) -> dict[str, list[int]]:
    """Class counts per split of `labels` (split name -> labels), warning about each split that lacks a class
    it could hold or holds one class only.

    A validation split of one class is an error unless the split `method` was asked for (`explicit`): early
    stopping, the doctor and the report would all read it.

    Raises:
        DataError: the validation split holds one class of the training split's several, and `method` was
            chosen automatically (the message names the counts and the settings that fix it).
    """
    counts = {name: class_counts(y, num_classes) for name, y in labels.items()}
    trained = sum(c > 0 for c in counts.get("train", []))
    for name, per_class in counts.items():
        size, present = sum(per_class), [k for k, c in enumerate(per_class) if c]
        what = f"{source}: the {SPLIT_NAMES[name]} split ({size} samples, per class {per_class})"
        if size >= 2 and len(present) == 1 and num_classes >= 2:
            if name == "valid" and trained >= 2 and not explicit:
                raise DataError(
                    f"{what} holds class {present[0]} only, so validation loss and accuracy mean nothing "
                    f"(data.split = {method!r}); expected several classes: use data.split = 'stratified', a larger "
                    f"data.valid, or set data.split = {method!r} explicitly to keep it"
                )
            warnings.warn(f"{what} holds class {present[0]} only; figures on it mean little", UserWarning,
                          stacklevel=3)
        elif size >= num_classes and len(present) < num_classes:
            missing = [k for k, c in enumerate(per_class) if not c]
            shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
            warnings.warn(f"{what} has no sample of class {shown}", UserWarning, stacklevel=3)
    return counts
