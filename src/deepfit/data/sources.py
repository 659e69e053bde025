"""The dataset registry and the directory-of-IDX-files source (the MNIST layout).

Each registered source returns raw NumPy arrays as a `RawDataset`; splitting, label checks and
standardisation happen once, in `splits.make_splits`.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from deepfit.data.idx import read_idx
from deepfit.errors import ConfigError, DataError
from deepfit.names import DATASETS as DATASET_NAMES
from deepfit.registry import Registry


class RawDataset(NamedTuple):
    """What a source returns: NumPy arrays as stored, before any split or scaling.

    `valid` is the dataset's own validation count (Géron's 5,000 for Fashion-MNIST), the one an automatic
    `data.valid` takes and split as the first rows; None: drawn (see `splits.resolve_valid`). `label_column` is
    the table column the labels were read from, which must then look like class labels (`classes`).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    class_names: list[str] | None
    valid: int | None = None
    label_column: str | None = None


DATASETS: Registry[RawDataset] = Registry(DATASET_NAMES)

# role -> base names accepted for it, each also with ".gz"; the first is the canonical MNIST name
IDX_NAMES: dict[str, tuple[str, ...]] = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def find_idx_files(dir: str | Path) -> dict[str, Path]:
    """The IDX files of the MNIST layout present in `dir`, by role (`train_images`, ..., `test_labels`).

    Each role accepts `train-images-idx3-ubyte` and `train-images.idx3-ubyte` spellings, raw or `.gz`;
    an uncompressed copy is preferred because it loads faster. Missing roles are simply absent.
    """
    dir = Path(dir)
    found: dict[str, Path] = {}
    for role, names in IDX_NAMES.items():
        for candidate in (dir / f for name in names for f in (name, f"{name}.gz")):
            if candidate.is_file():
                found[role] = candidate
                break
    return found


def missing_idx_files(found: dict[str, Path], roles: tuple[str, ...] = tuple(IDX_NAMES)) -> list[str]:
    """Canonical names (`train-images-idx3-ubyte[.gz]`) of the `roles` absent from `found`."""
    return [f"{IDX_NAMES[role][0]}[.gz]" for role in roles if role not in found]


def read_idx_dir(dir: str | Path, *, require_test: bool = False) -> RawDataset:
    """Read the training files of an MNIST-layout directory and its test files when both are present.

    Raises:
        DataError: the directory or a required file is missing, a file is malformed, a test pair is
            incomplete, labels are not one-dimensional or images and labels differ in count.
    """
    dir = Path(dir)
    if not dir.is_dir():
        raise DataError(f"IDX directory {dir} not found")
    found = find_idx_files(dir)
    required = tuple(IDX_NAMES) if require_test else ("train_images", "train_labels")
    missing = missing_idx_files(found, required)
    test_roles = ("test_images", "test_labels")
    if not missing and sum(role in found for role in test_roles) == 1:
        missing = missing_idx_files(found, test_roles)
    if missing:
        raise DataError(f"IDX directory {dir} lacks {', '.join(missing)}")
    x_train, y_train = _read_pair(found["train_images"], found["train_labels"])
    x_test = y_test = None
    if "test_images" in found:
        x_test, y_test = _read_pair(found["test_images"], found["test_labels"])
    return RawDataset(x_train, y_train, x_test, y_test, None)


@DATASETS.register("idx", summary="a directory of IDX files in the MNIST layout (train-*, t10k-*)")
def idx(dir: str | Path | None = None) -> RawDataset:
    """Any folder in the MNIST layout: the `train-*` image and label files, optionally the `t10k-*` pair."""
    if dir is None:
        raise ConfigError("dataset 'idx' needs a directory: pass dir=... (--data-dir DIR)")
    return read_idx_dir(dir)


def _read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected labels of shape (n,), found shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{images_path.parent}: {images_path.name} holds {images.shape[0]} samples but "
            f"{labels_path.name} holds {labels.shape[0]} labels"
        )
    return images, labels
