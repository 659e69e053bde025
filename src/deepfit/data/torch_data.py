"""A torch `Dataset` or `DataLoader` from Python, read once into memory and split like any other source.

deepfit trains from tensors held in memory: on the device when they fit (batches are slices of an on-device
permutation, train/batches.py), else in host memory with each batch copied to the device
(train/placement.py); a dataset larger than `max_bytes` of host memory is refused with its size rather than
read until memory runs out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from deepfit.data.sources import DATASETS, RawDataset
from deepfit.data.splits import make_splits
from deepfit.data.tensors import Splits
from deepfit.errors import ConfigError, DataError

TorchData = Dataset | DataLoader
_READ_BATCH = 1024  # samples collated at once when reading a Dataset


@DATASETS.register("python", summary="a torch Dataset or DataLoader given to run_training(cfg, data=...) in Python")
def python() -> RawDataset:
    """The name a run's config.toml records for data given from Python, which only Python can give again."""
    raise ConfigError("data.name = 'python': this run's data was a Dataset or DataLoader given from Python; pass it "
                      "again: run_training(cfg, data=..., run_dir=RUN, resume=True), or trainer.evaluate(...)")


def from_torch(
    train: TorchData, test: TorchData | None = None, *, max_bytes: int | None = None,
    test_split: int | float | None = 0, **split_options: Any,
) -> Splits:
    """`Splits` from a training and an optional test `Dataset`/`DataLoader` of (input, label) samples.

    Class names are the training dataset's `classes` when it has them (as torchvision datasets do);
    `test_split` is `make_splits`'s `test` (the test split held out of `train` when `test` is None), and
    `split_options` go to `make_splits` too (valid, split, subset, standardize, seed, task).

    Raises:
        DataError: the samples are not (input, label) pairs of numbers, or the data needs more than
            `max_bytes` as float32.
    """
    x, y = materialize(train, max_bytes=max_bytes, what="data")
    x_test = y_test = None
    if test is not None:
        x_test, y_test = materialize(test, max_bytes=max_bytes, what="test_data")
    classes = getattr(train.dataset if isinstance(train, DataLoader) else train, "classes", None)
    multiclass = split_options.get("task", "multiclass") == "multiclass"
    names = [str(c) for c in classes] if multiclass and isinstance(classes, list | tuple) else None
    return make_splits(x, y, x_test, y_test, class_names=names, source=f"the {type(train).__name__} given",
                       test=test_split, **split_options)


def materialize(data: TorchData, *, max_bytes: int | None = None, what: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """(inputs, labels) as NumPy arrays, read batch by batch from a `DataLoader`, or from a `Dataset` through
    a loader of `_READ_BATCH` samples with torch's default collation."""
    if isinstance(data, DataLoader):
        loader, count = data, _length(data.dataset)
    elif isinstance(data, Dataset):
        count = _length(data)
        loader = DataLoader(data, batch_size=_READ_BATCH, shuffle=False)
    else:
        raise DataError(f"{what}: expected a torch.utils.data.Dataset or DataLoader, got a {type(data).__name__}")
    xs, ys = [], []
    for i, batch in enumerate(_batches(loader, what)):
        x, y = _pair(batch, what)
        if i == 0 and max_bytes is not None and count is not None:
            _check_size(count, tuple(x.shape[1:]), max_bytes, what)
        xs.append(x)
        ys.append(y)
    if not xs:
        raise DataError(f"{what}: the {type(data).__name__} yields no samples")
    return torch.cat(xs).numpy(), torch.cat(ys).numpy()


def _batches(loader: DataLoader, what: str) -> Iterable[Any]:
    try:
        yield from loader
    except (TypeError, RuntimeError) as exc:  # default_collate refuses what it cannot stack
        raise DataError(f"{what}: its samples cannot be stacked into batches ({exc}); expected (input, label) "
                        "pairs of tensors, arrays or numbers of one shape") from None


def _pair(batch: Any, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(batch, list | tuple) or len(batch) != 2:
        raise DataError(f"{what}: expected samples (input, label), got a {type(batch).__name__}"
                        + (f" of {len(batch)} items" if isinstance(batch, list | tuple) else ""))
    x, y = (torch.as_tensor(v).detach().cpu() for v in batch)
    if x.ndim < 2 or y.ndim != 1 or len(x) != len(y):
        raise DataError(f"{what}: a batch has inputs of shape {tuple(x.shape)} and labels of shape {tuple(y.shape)}; "
                        "expected (batch, *sample_shape) and (batch,): one label per sample")
    return x, y


def _length(dataset: Any) -> int | None:
    try:
        return len(dataset)
    except TypeError:  # an IterableDataset without __len__: its size is known only once read
        return None


def _check_size(count: int, sample_shape: tuple[int, ...], max_bytes: int, what: str) -> None:
    need = count * math.prod(sample_shape) * 4  # float32, as training holds it
    if need > max_bytes:
        raise DataError(
            f"{what}: {count:,} samples of shape {sample_shape} need {need / 1e9:.2f} GB as float32, more than the "
            f"{max_bytes / 1e9:.2f} GB deepfit may hold in host memory (half of what is free; batches stream from "
            "there to an accelerator), so pass a torch.utils.data.Subset or smaller samples"
        )
