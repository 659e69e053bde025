"""Per-class precision and recall from a confusion matrix (rows: true class, columns: predicted class).

```
precision_j = M[j, j] / sum_i M[i, j]     of the samples predicted j, the share that are j
recall_j    = M[j, j] / sum_k M[j, k]     of the samples that are j, the share predicted j
```
A class never predicted has no precision (NaN, shown as "–"), one absent from the data no recall.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deepfit.errors import ShapeError


def precision_recall(matrix: Sequence[Sequence[float]] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(precision, recall) of each class, NaN where the column or the row is empty.

    Raises:
        ShapeError: `matrix` is not square.
    """
    counts = np.asarray(matrix, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ShapeError(f"confusion matrix: expected a square 2-D array, got shape {counts.shape}")
    hits = np.diag(counts)
    predicted, actual = counts.sum(axis=0), counts.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.full_like(hits, np.nan), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.full_like(hits, np.nan), where=actual > 0)
    return precision, recall


def class_rows(matrix: Sequence[Sequence[float]] | np.ndarray,
               class_names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One row per class: its name (or index), test samples, precision and recall as percentages, and the
    class it is most often mistaken for.

    Raises:
        ShapeError: `matrix` is not square, or `class_names` does not name each class once.
    """
    counts = np.asarray(matrix, dtype=float)
    precision, recall = precision_recall(counts)
    names = [str(i) for i in range(len(counts))] if class_names is None else [str(c) for c in class_names]
    if len(names) != len(counts):
        raise ShapeError(f"confusion matrix: {len(counts)} classes but {len(names)} class names")
    rows = []
    for j, name in enumerate(names):
        off = counts[j].copy()
        off[j] = -1.0
        confused = int(np.argmax(off))
        row: dict[str, Any] = {"class": name, "samples": int(counts[j].sum()), "precision": _percent(precision[j]),
                               "recall": _percent(recall[j])}
        row["most often predicted instead"] = f"{names[confused]} ({int(off[confused])})" if off[confused] > 0 else ""
        rows.append(row)
    return rows


def _percent(share: float) -> str:
    return "–" if np.isnan(share) else f"{100 * share:.1f}%"
