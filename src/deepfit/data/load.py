"""The entry points the trainer and the CLI call: a registered dataset by name, or arrays from Python."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepfit.data.locate import locate_source
from deepfit.data.sources import DATASETS
from deepfit.data.splits import make_splits
from deepfit.data.tensors import Splits


def load_data(
    name: str | Path = "fashion_mnist",
    *,
    dir: str | Path | None = None,
    path: str | Path | None = None,
    valid: int | float | None = None,
    test: int | float | None = None,
    split: str | None = None,
    subset: int | None = None,
    standardize: bool = True,
    seed: int = 0,
    task: str = "multiclass",
    label_column: str | None = None,
    labels: str | Path | None = None,
    image_size: list[int] | None = None,
    channels: int | None = None,
    options: dict[str, Any] | None = None,
) -> Splits:
    """Load the dataset registered as `name`, or the file or folder `name` is (as `--data` reads it:
    `load_data("photos")`, `load_data("cells.csv")`), and split it with `make_splits` (see there for the options).

    `dir` is the folder of a directory source (`fashion_mnist`, `idx`); `path` is the file of a file
    source (`npz`, `csv`, `npy`); `label_column` applies to `csv`, `labels` to `npy`, `image_size` and
    `channels` to `images`; `options` are further parameters of the source
    (e.g. `sample_seed` of `fashion_mnist_b`). Only the options given are passed to the
    source, so an option it does not take is a `ConfigError` listing the ones it does.

    Raises:
        ConfigError: unknown dataset name, an option the source does not take, or a bad split option.
        DataError: `name` looks like a path that does not exist, or a file of an unknown type.
        DataError: the data is missing, unreadable or inconsistent (the message names the file or folder
            and, for Fashion-MNIST, says how to get it).
    """
    given = {"dir": dir, "path": path, "label_column": label_column, "labels": labels, "image_size": image_size,
             "channels": channels}
    options = {**(options or {}), **{key: value for key, value in given.items() if value is not None}}
    if isinstance(name, Path) or name not in DATASETS:  # a path: the source it names, as the CLI finds it
        name, found = locate_source(str(name))
        options = {**found, **options}
        path, dir = options.get("path", path), options.get("dir", dir)
    canonical = DATASETS.canonical(name)
    raw = DATASETS.build(canonical, **options)
    source = str(path if path is not None else dir if dir is not None else f"dataset {canonical!r}")
    return make_splits(
        *raw[:4],
        valid=valid,
        test=test,
        split=split,
        subset=subset,
        standardize=standardize,
        seed=seed,
        task=task,
        class_names=raw.class_names,
        source=source,
        dataset_valid=raw.valid,
        label_column=raw.label_column,
    )


def from_arrays(
    x_train: np.ndarray | torch.Tensor,
    y_train: np.ndarray | torch.Tensor,
    x_test: np.ndarray | torch.Tensor | None = None,
    y_test: np.ndarray | torch.Tensor | None = None,
    **split_options: Any,
) -> Splits:
    """`Splits` from in-memory NumPy arrays or torch tensors; `split_options` go to `make_splits`, with `test`
    defaulting to 0: no test split is held out unless asked for (`test=None` for the automatic one), since the
    caller can pass `x_test`, `y_test` of its own."""
    arrays = [_numpy(a) for a in (x_train, y_train, x_test, y_test)]
    return make_splits(*arrays, **{"test": 0, **split_options})


def _numpy(a: np.ndarray | torch.Tensor | None) -> np.ndarray | None:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return None if a is None else np.asarray(a)
