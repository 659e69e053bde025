"""The test set by class: per-class precision and recall from a confusion matrix (rows: true class,
columns: predicted class), and the matrix as a heat map.

```
precision_j = M[j, j] / sum_i M[i, j]     of the samples predicted j, the share that are j
recall_j    = M[j, j] / sum_k M[j, k]     of the samples that are j, the share predicted j
```
A class never predicted has no precision (NaN, shown as "–"), one absent from the data no recall.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepfit.errors import ShapeError
from deepfit.report.plots import new_figure, save_figure


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


def plot_confusion_matrix(
    matrix: np.ndarray,
    class_names: Sequence[str] | None,
    path: str | os.PathLike[str],
    *,
    normalize: bool = True,
) -> Path:
    """Draw a confusion matrix as a heat map (rows: true class, columns: predicted) and write it to `path`.

    With `normalize`, colours and the first number in each cell are the share of the true class
    (row percentages, so a rare class is as visible as a common one) and the count follows in
    brackets; otherwise cells show counts. Cells are annotated up to 20 classes.

    Raises:
        ShapeError: `matrix` is not square, or `class_names` does not have one name per class.
    """
    counts = np.asarray(matrix)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ShapeError(f"confusion matrix: expected a square 2-D array, got shape {counts.shape}")
    n = counts.shape[0]
    names = [str(i) for i in range(n)] if class_names is None else [str(c) for c in class_names]
    if len(names) != n:
        raise ShapeError(f"confusion matrix: {n} classes but {len(names)} class names")
    totals = counts.sum(axis=1, keepdims=True).astype(float)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    colours = shares * 100.0 if normalize else counts.astype(float)

    side = min(max(5.0, 0.55 * n + 2.5), 16.0)
    fig = new_figure(side + 1.2, side)
    ax = fig.subplots()
    image = ax.imshow(colours, cmap="Blues", vmin=0.0, vmax=100.0 if normalize else None)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="% of true class" if normalize else "count")
    if n <= 20:
        threshold = 0.5 * (100.0 if normalize else max(colours.max(), 1.0))
        for i in range(n):
            for j in range(n):
                text = f"{shares[i, j]:.1%}\n({counts[i, j]:g})" if normalize else f"{counts[i, j]:g}"
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8 if n <= 10 else 6,
                    color="white" if colours[i, j] > threshold else "black",
                )
    ax.set_xticks(range(n), names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), names)
    total = counts.sum()
    accuracy = f", accuracy {np.trace(counts) / total:.2%}" if total > 0 else ""
    ax.set_title(f"Confusion matrix ({'row %' if normalize else 'counts'}{accuracy})")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return save_figure(fig, path)
