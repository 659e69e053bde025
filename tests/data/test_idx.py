import gzip

import numpy as np
import pytest

from deepfit.data import read_idx, write_idx
from deepfit.errors import DataError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_write_then_read_returns_the_same_array_for_each_idx_dtype(tmp_path, dtype, suffix):
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else np.finfo(dtype)
    array = np.array([[info.min, -1 if info.min < 0 else 0, 1], [2, 3, info.max]], dtype=dtype)
    path = write_idx(tmp_path / f"a.idx{suffix}", array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype).newbyteorder("=")
    assert back.shape == (2, 3)
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_write_idx_uses_big_endian_header_and_values(tmp_path):
    path = write_idx(tmp_path / "labels", np.array([1, 258], dtype=np.int16))
    assert path.read_bytes() == bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0, 1, 1, 2])


def test_gzip_is_detected_from_content_not_name(tmp_path):
    path = tmp_path / "plain-name"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9])))
    np.testing.assert_array_equal(read_idx(path), [7, 9])


def test_read_idx_rejects_wrong_magic_bytes(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(bytes([1, 0, 8, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(DataError, match=r"bad: not an IDX file: expected magic bytes 00 00, found 01 00"):
        read_idx(path)


def test_read_idx_rejects_unknown_dtype_code(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(DataError, match=r"bad: unknown IDX dtype code 0x0A, expected one of 0x08, 0x09"):
        read_idx(path)


def test_read_idx_rejects_zero_dimensions(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(bytes([0, 0, 8, 0]))
    with pytest.raises(DataError, match="declares 0 dimensions"):
        read_idx(path)


def test_read_idx_rejects_truncated_header(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2]))
    with pytest.raises(DataError, match="truncated IDX header: expected 16 bytes for 3 dimensions, found 8"):
        read_idx(path)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_names_file_and_byte_counts_of_truncated_payload(tmp_path, suffix):
    raw = write_idx(tmp_path / "full", np.zeros((3, 4, 4), dtype=np.uint8)).read_bytes()
    path = tmp_path / f"images{suffix}"
    cut = raw[:-8]
    path.write_bytes(gzip.compress(cut) if suffix else cut)
    with pytest.raises(DataError, match=r"images(\.gz)?: expected 48 bytes of image data .* found 40 \(trunc"):
        read_idx(path)


def test_read_idx_rejects_trailing_bytes(tmp_path):
    path = tmp_path / "labels"
    write_idx(path, np.arange(5, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00\x00")
    with pytest.raises(DataError, match=r"labels: expected 5 bytes of label data .* found 7 \(trailing bytes\)"):
        read_idx(path)


def test_read_idx_names_file_with_corrupt_gzip_stream(tmp_path):
    good = gzip.compress(write_idx(tmp_path / "raw", np.arange(100, dtype=np.uint8)).read_bytes())
    path = tmp_path / "labels.gz"
    path.write_bytes(good[:12] + bytes(b ^ 0xFF for b in good[12:]))
    with pytest.raises(DataError, match=r"labels\.gz: corrupt gzip stream"):
        read_idx(path)


def test_read_idx_names_file_with_cut_gzip_stream(tmp_path):
    good = gzip.compress(write_idx(tmp_path / "raw", np.arange(100, dtype=np.uint8)).read_bytes())
    path = tmp_path / "labels.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match=r"labels\.gz: corrupt gzip stream"):
        read_idx(path)


def test_read_idx_names_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nothing-here: file not found"):
        read_idx(tmp_path / "nothing-here")


def test_write_idx_refuses_dtypes_idx_cannot_store(tmp_path):
    with pytest.raises(DataError, match="IDX cannot store dtype int64"):
        write_idx(tmp_path / "labels", np.arange(3, dtype=np.int64))
