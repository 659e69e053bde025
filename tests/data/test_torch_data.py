"""torch Datasets and DataLoaders from Python: read once into memory, split like any source, class names
from `classes`, and refused by size or shape with a message saying why."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

from deepfit.data import from_torch
from deepfit.errors import DataError


class _Shirts(Dataset):
    """A map-style dataset as users write them: numpy samples and int labels, with torchvision's `classes`."""

    classes = ("shirt", "bag", "boot")

    def __init__(self, n: int = 30) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return np.full((1, 2, 2), i, dtype=np.float32), i % 3


def test_a_dataset_is_read_in_order_with_its_class_names():
    splits = from_torch(_Shirts(), valid=0, test_split=0, standardize=False)
    assert splits.class_names == ["shirt", "bag", "boot"] and splits.input_shape == (1, 2, 2)
    assert splits.train.x[:, 0, 0, 0].tolist() == list(range(30))
    assert splits.train.y.tolist() == [i % 3 for i in range(30)]


def test_a_shuffling_dataloader_is_read_batch_by_batch_and_the_test_data_kept_apart():
    x, y = torch.randn(50, 4), torch.arange(50) % 2
    loader = DataLoader(TensorDataset(x, y), batch_size=7, shuffle=True)
    splits = from_torch(loader, TensorDataset(x[:5], y[:5]), valid=10, standardize=False)
    assert len(splits.train) == 40 and len(splits.valid) == 10 and len(splits.test) == 5
    seen = torch.cat([splits.valid.x, splits.train.x])
    assert sorted(seen[:, 0].tolist()) == sorted(x[:, 0].tolist())  # every sample once, in the loader's order


def test_an_iterable_dataset_without_a_length_is_read_to_its_end():
    class Stream(IterableDataset):
        def __iter__(self):
            for i in range(12):
                yield torch.full((3,), float(i)), i % 2

    splits = from_torch(Stream(), valid=0, test_split=0)
    assert len(splits.train) == 12


def test_data_larger_than_the_budget_is_refused_with_its_size():
    with pytest.raises(DataError, match=r"data: 30 samples of shape \(1, 2, 2\) need 0\.00 GB as float32, more than "
                                        r"the 0\.00 GB deepfit may hold in host memory"):
        from_torch(_Shirts(), max_bytes=100)
    assert len(from_torch(_Shirts(), max_bytes=30 * 4 * 4, valid=0, test_split=0).train) == 30  # exactly fits


def test_samples_that_are_not_pairs_are_refused():
    class Dicts(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return {"image": torch.zeros(2), "label": 0}

    with pytest.raises(DataError, match=r"data: expected samples \(input, label\), got a dict"):
        from_torch(Dicts())


def test_samples_of_mixed_shapes_are_refused():
    class Ragged(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return torch.zeros(i + 1), 0

    with pytest.raises(DataError, match=r"data: its samples cannot be stacked into batches"):
        from_torch(Ragged())


def test_something_else_than_a_dataset_is_refused_by_type():
    with pytest.raises(DataError, match=r"data: expected a torch\.utils\.data\.Dataset or DataLoader, got a list"):
        from_torch([(torch.zeros(2), 0)])
