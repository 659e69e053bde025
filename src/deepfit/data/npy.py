"""Datasets stored as `.npy` pairs: features `x*.npy` beside labels `y*.npy` (or a labels file named outright).

The partner of `X_train.npy` is `y_train.npy` (the first letter x -> y, either case), and a `*train*` pair has
a test pair when `X_test.npy` and `y_test.npy` lie beside it, as scikit-learn and Keras name their arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepfit.data.sources import DATASETS, RawDataset
from deepfit.errors import ConfigError, DataError


@DATASETS.register("npy", summary="a pair of .npy files: features x*.npy and labels y*.npy (optionally x_test/y_test)")
def npy(path: str | Path | None = None, labels: str | Path | None = None) -> RawDataset:
    """Features from `path` and labels from `labels`, by default the file named like `path` with x -> y.

    With a `train` in the features' file name, the files named with `test` instead are the test split
    when the features file exists (its labels must then exist too). Arrays are read without pickle.
    """
    if path is None:
        raise ConfigError("dataset 'npy' needs a features file: pass path=X.npy (--data X.npy)")
    x_path = Path(path).expanduser()
    if not x_path.is_file():
        raise DataError(f"npy file {x_path} not found")
    y_path = Path(labels).expanduser() if labels is not None else partner(x_path)
    x_train, y_train = _read_pair(x_path, y_path, named=labels is not None)
    x_test = y_test = None
    if labels is None and "train" in x_path.name:
        xt_path = x_path.with_name(x_path.name.replace("train", "test"))
        if xt_path.is_file():
            x_test, y_test = _read_pair(xt_path, partner(xt_path), named=False)
    return RawDataset(x_train, y_train, x_test, y_test, None)


def partner(x_path: Path) -> Path:
    """The labels file of features file `x_path`: its name with the leading x or X replaced by y (or Y,
    whichever exists; y when neither does).

    Raises:
        DataError: the file name does not start with x or X, so there is no convention to follow.
    """
    name = x_path.name
    if name[:1] not in ("x", "X"):
        raise DataError(
            f"{x_path}: cannot tell where its labels are; name the features x*.npy with the labels y*.npy beside "
            f"them (X_train.npy, y_train.npy), or give both files: --data {x_path},LABELS.npy (data.labels)"
        )
    lower, upper = x_path.with_name("y" + name[1:]), x_path.with_name("Y" + name[1:])
    return upper if upper.is_file() and not lower.is_file() else lower


def _read_pair(x_path: Path, y_path: Path, *, named: bool) -> tuple[np.ndarray, np.ndarray]:
    if not y_path.is_file():
        how = "the labels file given" if named else f"the labels of {x_path.name} (x -> y in the file name)"
        raise DataError(f"{y_path}: not found; expected {how}; or give both files: --data X.npy,LABELS.npy")
    x, y = _load(x_path), _load(y_path)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]  # a column of labels
    if y.ndim != 1:
        raise DataError(f"{y_path}: expected labels of shape (n,), found shape {y.shape}")
    if x.ndim < 1 or len(x) != len(y):
        raise DataError(f"{x_path.name} holds {len(x) if x.ndim else 0} samples but {y_path.name} holds {len(y)} "
                        f"labels ({x_path.parent}); expected one label per sample")
    return x, y


def _load(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise DataError(f"{path}: an .npz archive, expected one .npy array (use --data FILE.npz for archives)")
    return array
