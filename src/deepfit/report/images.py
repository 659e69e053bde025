"""A grid of misclassified test images, each titled with its predicted and true class, from the
`misclassified.safetensors` a run wrote (run/misclassified.py); numpy and matplotlib, no torch."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file

from deepfit.errors import CheckpointError, ShapeError
from deepfit.report.plots import new_figure, save_figure

_KEYS = ("x", "true", "predicted", "index")


def read_misclassified(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The arrays of a `misclassified.safetensors` file: x (n, *image), true, predicted and index (n,).

    Raises:
        CheckpointError: the file is not safetensors, or it lacks one of the arrays.
    """
    try:
        arrays = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None
    missing = [k for k in _KEYS if k not in arrays]
    if missing:
        raise CheckpointError(f"{path}: expected arrays {', '.join(_KEYS)}, missing {', '.join(missing)}")
    return arrays


def plot_misclassified(
    samples: Mapping[str, np.ndarray], class_names: Sequence[str] | None, path: str | os.PathLike[str]
) -> Path:
    """Draw each sample as an image titled with its predicted and true class and write the grid to `path`.

    Images are (H, W) grey or (C, H, W) with 1, 3 or 4 channels. Each is scaled to its own range, so a
    faint image stays visible; the index in the test split follows the true class, to find the sample again.

    Raises:
        ShapeError: the samples are not images, or the arrays disagree in length.
    """
    x = np.asarray(samples["x"], dtype=float)
    true, predicted, index = (np.asarray(samples[k]).astype(int) for k in ("true", "predicted", "index"))
    if not len(x) == len(true) == len(predicted) == len(index):
        raise ShapeError(f"misclassified samples: {len(x)} images but {len(true)} true, {len(predicted)} predicted "
                         f"and {len(index)} indices; expected one each")
    if x.ndim == 4 and x.shape[1] in (1, 3, 4):
        x = np.moveaxis(x, 1, -1)  # (n, H, W, C), as imshow wants
        x = x[..., 0] if x.shape[-1] == 1 else x
    if x.ndim not in (3, 4):
        raise ShapeError(f"misclassified samples: expected images (n, H, W) or (n, C, H, W), got shape {x.shape}")
    columns = min(5, len(x))
    rows = max(1, math.ceil(len(x) / columns))
    fig = new_figure(1.9 * columns, 2.1 * rows)
    axes = np.atleast_1d(fig.subplots(rows, columns)).reshape(-1)
    for k, ax in enumerate(axes):
        ax.set_axis_off()
        if k >= len(x):
            continue
        image = x[k]
        low, high = float(image.min()), float(image.max())
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
        ax.imshow(image, cmap="gray_r" if image.ndim == 2 else None, vmin=0.0, vmax=1.0)
        ax.set_title(_name(predicted[k], class_names), fontsize=9, color="tab:red", pad=12)
        loss = f"  loss {float(samples['loss'][k]):.2f}" if "loss" in samples else ""
        ax.text(0.5, 1.02, f"true: {_name(true[k], class_names)}  #{index[k]}{loss}", transform=ax.transAxes,
                ha="center", va="bottom", fontsize=7, color="0.25")
    ranked = ", highest loss first" if "loss" in samples else ""
    fig.suptitle(f"Misclassified test samples{ranked}: predicted (red), true class and test index", fontsize=10)
    return save_figure(fig, path)


def _name(label: int, class_names: Sequence[str] | None) -> str:
    return str(class_names[label]) if class_names is not None and 0 <= label < len(class_names) else str(label)
