"""Fixtures for the data tests: an isolated environment, small MNIST-layout folders and a local HTTP server.

Nothing here touches the internet: downloads go to a server bound to 127.0.0.1 on a free port.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from deepfit.data import write_idx

FILE_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No $DEEPFIT_DATA, a private cache folder, and no proxies between urllib and 127.0.0.1."""
    monkeypatch.delenv("DEEPFIT_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


def _mnist_arrays(n_train: int = 12, n_test: int = 5, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, size=(n_train, 4, 4), dtype=np.uint8),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test, 4, 4), dtype=np.uint8),
        "test_labels": (np.arange(n_test) % 10).astype(np.uint8),
    }


@pytest.fixture
def mnist_arrays() -> Callable[..., dict[str, np.ndarray]]:
    """Tiny uint8 images (n, 4, 4) and labels 0-9 by role, different for each `seed`."""
    return _mnist_arrays


@pytest.fixture
def write_mnist_dir() -> Callable[..., Path]:
    """Write an MNIST-layout folder; returns it. `gz` picks compressed names, `n_train` sets its size."""

    def write(dir: Path, *, n_train: int = 12, n_test: int = 5, seed: int = 0, gz: bool = True) -> Path:
        dir.mkdir(parents=True, exist_ok=True)
        for role, array in _mnist_arrays(n_train, n_test, seed).items():
            write_idx(dir / (FILE_NAMES[role] + (".gz" if gz else "")), array)
        return dir

    return write


@dataclass
class LocalServer:
    """A static file server on 127.0.0.1: files put in `root` are served under `url`."""

    root: Path
    url: str
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[LocalServer]:
    """Serve `tmp_path/www` over HTTP on a free port of 127.0.0.1 for the duration of one test."""
    root = tmp_path / "www"
    root.mkdir()
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalServer(root, f"http://127.0.0.1:{server.server_address[1]}/", requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
