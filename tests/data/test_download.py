import hashlib
import socket

import pytest

from deepfit.data import download_file
from deepfit.errors import DataError

PAYLOAD = bytes(range(256)) * 40


def _serve(http_server, name="blob.bin"):
    (http_server.root / name).write_bytes(PAYLOAD)
    return http_server.url + name


def test_download_file_writes_the_served_bytes_when_sha256_matches(http_server, tmp_path):
    url = _serve(http_server)
    dest = tmp_path / "cache" / "blob.bin"
    result = download_file(url, dest, sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert result == dest
    assert dest.read_bytes() == PAYLOAD
    assert [p.name for p in dest.parent.iterdir()] == ["blob.bin"]  # no temporary file left behind


def test_download_file_keeps_nothing_when_sha256_differs_and_names_both_hashes(http_server, tmp_path):
    url = _serve(http_server)
    dest = tmp_path / "cache" / "blob.bin"
    actual = hashlib.sha256(PAYLOAD).hexdigest()
    with pytest.raises(DataError, match=rf"blob\.bin downloaded from .* has SHA-256 {actual}, expected {'0' * 64}"):
        download_file(url, dest, sha256="0" * 64, progress=False)
    assert list(dest.parent.iterdir()) == []


def test_download_file_does_not_replace_an_existing_file_on_mismatch(http_server, tmp_path):
    url = _serve(http_server)
    dest = tmp_path / "blob.bin"
    dest.write_bytes(b"previous")
    with pytest.raises(DataError):
        download_file(url, dest, sha256="0" * 64, progress=False)
    assert dest.read_bytes() == b"previous"


def test_download_file_reports_http_status(http_server, tmp_path):
    with pytest.raises(DataError, match=r"downloading .*missing\.bin failed: HTTP 404"):
        download_file(http_server.url + "missing.bin", tmp_path / "x", sha256="0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == [tmp_path / "www"]


def test_download_file_reports_unreachable_server(tmp_path):
    with socket.socket() as sock:  # a port that was free a moment ago: connecting to it is refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x"
    with pytest.raises(DataError, match=rf"downloading {url} failed: .*refused"):
        download_file(url, tmp_path / "x", sha256="0" * 64, progress=False)
