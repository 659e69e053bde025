"""Which dataset source a path or name stands for, as `--data VALUE` and `load_data(VALUE)` both read it: a file
by its extension (.npz, .csv, .npy, or `X.npy,LABELS.npy`), a folder by what it holds (IDX files, an `x_train.npy`
pair, or class sub-folders of images), else the name of a registered dataset."""

from __future__ import annotations

import os
from pathlib import Path

from deepfit.data.sources import DATASETS, find_idx_files
from deepfit.errors import DataError

FILE_SOURCES = (".npz", ".csv", ".npy")


def locate_source(value: str) -> tuple[str, dict[str, str]]:
    """(dataset name, the options that point it at `value`): `("csv", {"path": "my.csv"})`,
    `("images", {"dir": "photos"})`, `("fashion_mnist", {})`.

    Raises:
        DataError: `value` looks like a path (a separator or an extension) but does not exist, or is a file of
            another type than .npz, .csv or .npy. Other unknown names are left to the registry's `ConfigError`.
    """
    features, comma, labels = value.partition(",")
    if comma and features.endswith(".npy") and labels.endswith(".npy"):  # X.npy,LABELS.npy
        return "npy", {"path": features, "labels": labels}
    path = Path(value).expanduser()
    if path.suffix in FILE_SOURCES:
        return path.suffix[1:], {"path": value}
    if path.is_dir():
        return _folder_source(path, value)
    if value not in DATASETS:
        if path.exists():
            kind = f"unsupported extension {path.suffix!r}" if path.suffix else "a file without an extension"
            raise DataError(f"--data {value}: {kind}, expected .npz, .csv, .npy or a folder")
        if path.suffix or "/" in value or os.sep in value:
            raise DataError(
                f"--data {value}: not found (no such file or directory); expected a dataset name "
                f"({', '.join(DATASETS.names())}), an .npz, .csv or .npy file, or a folder (IDX files, "
                "x_train.npy, or images in class sub-folders)"
            )
    return value, {}


def _folder_source(path: Path, value: str) -> tuple[str, dict[str, str]]:
    """A folder's source: MNIST-layout IDX files, else an `x_train.npy` pair, else images in class sub-folders
    (any sub-folder); a folder with none of them is read as IDX, whose error lists the files it lacks."""
    if not find_idx_files(path):
        x_train = next((p for p in (path / "x_train.npy", path / "X_train.npy") if p.is_file()), None)
        if x_train is not None:
            return "npy", {"path": str(x_train)}
        if any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir()):
            return "images", {"dir": value}
    return "idx", {"dir": value}
