"""Read and write IDX files, the format of MNIST and Fashion-MNIST, gzip-compressed or raw.

The format (LeCun et al., http://yann.lecun.com/exdb/mnist/): two zero bytes, a dtype code, the number of
dimensions, one big-endian uint32 per dimension, then the values in C order, big-endian.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from deepfit.atomic import atomic_path
from deepfit.errors import DataError

_GZIP_MAGIC = b"\x1f\x8b"

# dtype code -> big-endian numpy dtype
_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES: dict[tuple[str, int], int] = {(d.kind, d.itemsize): code for code, d in _DTYPES.items()}


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in the IDX file at `path` (gzip is detected from the content, not the name).

    The result has native byte order and is writable. Every header field and the payload length are
    checked, so a truncated download or a file of another format fails here with its name in the message.

    Raises:
        DataError: the file is missing, unreadable, not gzip-decodable or not a well-formed IDX file.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: not an IDX file: expected a 4-byte header, found {len(data)} bytes")
    if data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: not an IDX file: expected magic bytes 00 00, found {data[:2].hex(' ')}")
    code, ndim = data[2], data[3]
    if code not in _DTYPES:
        valid = ", ".join(f"0x{c:02X}" for c in _DTYPES)
        raise DataError(f"{path}: unknown IDX dtype code 0x{code:02X}, expected one of {valid}")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions, expected at least 1")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(
            f"{path}: truncated IDX header: expected {header_len} bytes for {ndim} dimensions, found {len(data)}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    found = len(data) - header_len
    if found != expected:
        what = "image" if ndim >= 2 else "label"
        problem = "truncated file" if found < expected else "trailing bytes"
        raise DataError(f"{path}: expected {expected} bytes of {what} data for shape {dims}, found {found} ({problem})")
    array = np.frombuffer(data, dtype=dtype, count=math.prod(dims), offset=header_len).reshape(dims)
    return array.astype(dtype.newbyteorder("="))  # copies: native order, writable


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write `array` as an IDX file, gzip-compressed when `path` ends in `.gz`; returns the path.

    Supported dtypes are those IDX defines: uint8, int8, int16, int32, float32 and float64. The file is
    written atomically (deepfit/atomic.py).

    Raises:
        DataError: the dtype has no IDX code or the array has no dimensions.
        OutputError: the file cannot be written.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _CODES.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise DataError(
            f"{path}: IDX cannot store dtype {array.dtype}; expected uint8, int8, int16, int32, float32 or float64"
        )
    if array.ndim == 0:
        raise DataError(f"{path}: IDX stores arrays of at least 1 dimension, got a scalar")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=_DTYPES[code]).tobytes()
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return path


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when they start with the gzip magic number."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt gzip stream ({exc}); delete the file and fetch it again") from None
