"""Géron's (ch. 11) transfer-learning split of Fashion-MNIST into a plentiful task A and a scarce task B.

Task A: the 8 classes other than sandal (5) and shirt (6), relabelled 0-7. Task B: "is it a shirt?" on
sandals and shirts only. Both keep the file order, so `data.valid` (the first N training images) and the
test set are split the same way and stay unrestricted; B's scarce training set is `data.subset = 200`
(the first 200 images after the validation rows), or a seeded 200-image sample with `sample_seed`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepfit.data.fashion_mnist import FASHION_MNIST_CLASSES, FASHION_MNIST_VALID, fashion_mnist
from deepfit.data.sources import DATASETS, RawDataset
from deepfit.errors import ConfigError

SANDAL, SHIRT = 5, 6
OWN_SPLIT_DATASETS = ("fashion_mnist", "fashion_mnist_a", "fashion_mnist_b")  # a RawDataset.valid of their own
TASK_A_CLASSES: tuple[int, ...] = tuple(c for c in range(10) if c not in (SANDAL, SHIRT))
TASK_B_CLASSES: tuple[int, ...] = (SANDAL, SHIRT)


def select_classes(raw: RawDataset, classes: tuple[int, ...], *, binary_positive: int | None = None) -> RawDataset:
    """Keep only the samples of `classes` (file order kept), relabelled 0..k-1 in the order given.

    With `binary_positive`, labels become 1 for that class and 0 for the others instead.
    """
    lookup = np.full(256, -1, dtype=np.int64)
    lookup[list(classes)] = np.arange(len(classes))

    def part(x: np.ndarray | None, y: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        if x is None or y is None:
            return x, y
        keep = np.isin(y, classes)
        labels = (y[keep] == binary_positive) if binary_positive is not None else lookup[y[keep]]
        return x[keep], labels.astype(np.uint8)

    x_train, y_train = part(raw.x_train, raw.y_train)
    x_test, y_test = part(raw.x_test, raw.y_test)
    names = [FASHION_MNIST_CLASSES[c] for c in classes]
    if binary_positive is not None:
        negatives = "/".join(FASHION_MNIST_CLASSES[c] for c in classes if c != binary_positive)
        names = [negatives, FASHION_MNIST_CLASSES[binary_positive]]
    return RawDataset(x_train, y_train, x_test, y_test, names, raw.valid)


def shuffle_after(raw: RawDataset, holdout: int, sample_seed: int | None) -> RawDataset:
    """Shuffle the training rows after the first `holdout` with `sample_seed` (None: keep the file order).

    The first `holdout` rows are what `data.valid = holdout` carves off, so validation stays fixed while
    `data.subset = N` draws a different N-image training sample per seed.
    """
    if sample_seed is None:
        return raw
    n = len(raw.x_train)
    if isinstance(holdout, bool) or not 0 <= holdout < n:
        raise ConfigError(f"data.options.holdout: expected a count in [0, {n - 1}], got {holdout!r}")
    order = np.concatenate([np.arange(holdout), holdout + np.random.default_rng(sample_seed).permutation(n - holdout)])
    return raw._replace(x_train=raw.x_train[order], y_train=raw.y_train[order])


@DATASETS.register("fashion_mnist_a", summary="Fashion-MNIST task A: the 8 classes but sandal and shirt, labels 0-7")
def fashion_mnist_a(dir: str | Path | None = None) -> RawDataset:
    """Task A of Géron's transfer example (ch. 11): 48,000 training and 8,000 test images in 8 classes."""
    return select_classes(fashion_mnist(dir), TASK_A_CLASSES)


@DATASETS.register(
    "fashion_mnist_b", summary="Fashion-MNIST task B: shirt (1) vs sandal (0); use data.subset = 200, task = binary"
)
def fashion_mnist_b(
    dir: str | Path | None = None, sample_seed: int | None = None, holdout: int = FASHION_MNIST_VALID
) -> RawDataset:
    """Task B of Géron's transfer example (ch. 11): is it a shirt? 12,000 training, 2,000 test images.

    Géron trains on only 200 images: set `data.subset = 200`. `sample_seed` draws a different sample
    (see `shuffle_after`); `holdout` should equal `data.valid` (both default to 5000: an automatic
    `data.valid` takes Fashion-MNIST's 5,000 here too).
    """
    return shuffle_after(
        select_classes(fashion_mnist(dir), TASK_B_CLASSES, binary_positive=SHIRT), holdout, sample_seed
    )
