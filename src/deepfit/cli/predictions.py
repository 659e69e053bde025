"""What `deepfit predict --output` writes: the arrays of an .npz archive, or the same as a CSV table, with each
prediction's class name (and original label, when the labels were renumbered) beside its index."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from deepfit.atomic import atomic_path

if TYPE_CHECKING:
    import numpy as np


def named_predictions(predictions: np.ndarray, class_names: list[str] | None,
                      label_values: list[int | float] | None) -> dict[str, np.ndarray]:
    """`predicted_names` (the class name of each predicted index) when the run kept class names, and
    `predicted_labels` (the label as the data had it, e.g. 7 for class 1 of {3, 7, 9}) when it renumbered them."""
    import numpy as np

    out: dict[str, np.ndarray] = {}
    if class_names:
        out["predicted_names"] = np.array(class_names, dtype=str)[predictions]
        out["class_names"] = np.array(class_names, dtype=str)
    if label_values:
        out["predicted_labels"] = np.array(label_values)[predictions]
    return out


def write_csv(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """One row per sample: `prediction` (the index), `predicted_name` and `predicted_label` when known, then the
    probability of each class (`p(name)`, or `p(class k)`), and MC Dropout's `entropy` when computed."""
    probs = arrays["probabilities"]
    names = [str(n) for n in arrays["class_names"]] if "class_names" in arrays else None
    binary = probs.ndim == 1 or probs.shape[1] == 1
    if binary:
        positive = names[1] if names and len(names) == 2 else "class 1"
        columns = {f"p({positive})": probs.reshape(-1)}
    else:
        labels = names if names and len(names) == probs.shape[1] else [f"class {k}" for k in range(probs.shape[1])]
        columns = {f"p({label})": probs[:, k] for k, label in enumerate(labels)}
    leading = {"prediction": arrays["predictions"]}
    for key, column in (("predicted_names", "predicted_name"), ("predicted_labels", "predicted_label")):
        if key in arrays:
            leading[column] = arrays[key]
    table = {**leading, **columns, **({"entropy": arrays["entropy"]} if "entropy" in arrays else {})}
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(table)
        for row in zip(*table.values(), strict=True):
            writer.writerow([_cell(v) for v in row])
    return path


def _cell(value: object) -> str:
    item = value.item() if hasattr(value, "item") else value
    return f"{item:.6g}" if isinstance(item, float) else str(item)
