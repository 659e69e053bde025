"""Datasets stored in one file: NumPy `.npz` archives and `.csv` tables with a header row."""

from __future__ import annotations

import csv
import warnings
import zipfile
from pathlib import Path

import numpy as np

from deepfit.data.sources import DATASETS, RawDataset
from deepfit.errors import ConfigError, DataError

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


@DATASETS.register("npz", summary="a NumPy .npz archive with x_train, y_train and optionally x_test, y_test")
def npz(path: str | Path | None = None) -> RawDataset:
    """Arrays `x_train`, `y_train`, optionally `x_test` with `y_test`, and optionally `class_names`.

    The archive is opened without pickle, so object arrays are refused rather than executed.
    """
    path = _existing_file(path, "npz")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({exc})") from None
    found = ", ".join(sorted(arrays)) or "none"
    if "x_train" not in arrays or "y_train" not in arrays or ("x_test" in arrays) != ("y_test" in arrays):
        raise DataError(
            f"{path}: expected arrays x_train and y_train (and x_test with y_test, or neither), found keys: {found}"
        )
    names = arrays.get("class_names")
    if names is not None and names.ndim != 1:
        raise DataError(f"{path}: class_names must be a 1-D array of names, found shape {names.shape}")
    return RawDataset(
        arrays["x_train"],
        arrays["y_train"],
        arrays.get("x_test"),
        arrays.get("y_test"),
        None if names is None else [str(n) for n in names],
    )


@DATASETS.register("csv", summary="a .csv table: a header row, a label column and numeric features")
def csv_table(path: str | Path | None = None, label_column: str | None = None) -> RawDataset:
    """Features (n, columns - 1) and labels (n,) from a comma-separated table with a header row.

    The label column is `label_column`, else the column named `label`, else the first column: numbers, or
    class names (text) that become indices in sorted order. Every other column is a numeric feature. There is
    no test split: the whole table is training data (a test split is held out of it, see `data.test`).
    """
    path = _existing_file(path, "csv")
    try:
        return _read_csv(path, label_column)
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None


def _read_csv(path: Path, label_column: str | None) -> RawDataset:
    header = _header(path)
    if label_column is not None and label_column not in header:
        raise DataError(f"{path}: no column named {label_column!r}; columns: {', '.join(header)}")
    wanted = label_column or "label"
    label_index = header.index(wanted) if wanted in header else 0
    if len(header) < 2:
        raise DataError(f"{path}: expected a label column and at least one feature column, found {header}")
    features = [i for i in range(len(header)) if i != label_index]
    read = {"delimiter": ",", "skiprows": 1, "comments": None, "encoding": "utf-8"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": reported below
            x = np.loadtxt(path, dtype=np.float64, ndmin=2, usecols=features, **read)  # (n, features)
            labels = np.loadtxt(path, dtype=str, ndmin=1, usecols=label_index, quotechar='"', **read)  # (n,)
    except ValueError as exc:
        _raise_bad_cell(path, header, label_index)
        raise DataError(f"{path}: cannot parse as numbers: {exc}") from None
    if x.shape[0] == 0:
        raise DataError(f"{path}: expected data rows after the header, found none")
    if _is_pandas_index(header, features, x):
        warnings.warn(f"{path}: the first column has no name and counts 0, 1, 2, ...: the row index pandas writes "
                      "with to_csv(); left out of the features (write with index=False to leave it out of the file)",
                      stacklevel=2)
        x = x[:, 1:]
    labels = np.char.strip(labels)
    try:
        y = labels.astype(np.float64)
    except ValueError:
        y = labels  # class names, encoded in sorted order by `classes.encode_classes`
    return RawDataset(x, y, None, None, None, label_column=header[label_index])


def _is_pandas_index(header: list[str], features: list[int], x: np.ndarray) -> bool:
    """The first feature column is unnamed and holds 0..n-1, as `DataFrame.to_csv()` writes its index."""
    return (features[0] == 0 and header[0] == "" and x.shape[1] > 1
            and np.array_equal(x[:, 0], np.arange(x.shape[0], dtype=x.dtype)))


def _existing_file(path: str | Path | None, name: str) -> Path:
    if path is None:
        raise ConfigError(f"dataset {name!r} needs a file: pass path=FILE")
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{name} file {path} not found")
    return path


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), None)
    if not header:
        raise DataError(f"{path}: expected a header row naming the columns, found an empty file")
    return [name.strip() for name in header]


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> DataError:
    """A `DataError` naming the first line of `path` that is not UTF-8 and its first bad byte."""
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as bad:
            return DataError(
                f"{path}, line {number}: not UTF-8 text (byte 0x{line[bad.start]:02x}); expected a UTF-8 CSV "
                "file: save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"
            )
    return DataError(f"{path}: not UTF-8 text ({exc.reason}); expected a UTF-8 CSV file")


def _raise_bad_cell(path: Path, header: list[str], label_index: int) -> None:
    """Find the first feature cell NumPy refused and raise an error naming its line, column and value."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise DataError(
                    f"{path}, line {reader.line_num}: expected {len(header)} cells as in the header, found {len(row)}"
                )
            for index, (column, cell) in enumerate(zip(header, row, strict=True)):
                if index == label_index:
                    continue
                try:
                    float(cell)
                except ValueError:
                    raise DataError(
                        f"{path}, line {reader.line_num}, column {column!r}: expected a number, found {cell!r}"
                    ) from None
