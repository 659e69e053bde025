"""Shared fixtures: small synthetic datasets that train in well under a second."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

FMNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


def make_blobs(n: int = 600, features: int = 12, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs: separable enough that a small MLP learns them in a few epochs."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, size=(classes, features))
    y = rng.integers(0, classes, size=n)
    x = centers[y] + rng.normal(0, 1.0, size=(n, features))
    return x.astype(np.float32), y.astype(np.int64)


@pytest.fixture
def blobs_npz(tmp_path: Path) -> Path:
    x, y = make_blobs(900)
    path = tmp_path / "blobs.npz"
    np.savez(path, x_train=x[:700], y_train=y[:700], x_test=x[700:], y_test=y[700:])
    return path


@pytest.fixture(scope="module")
def module_blobs_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`blobs_npz` once per module, for modules that train one run and test many things on it."""
    x, y = make_blobs(900)
    path = tmp_path_factory.mktemp("blobs") / "blobs.npz"
    np.savez(path, x_train=x[:700], y_train=y[:700], x_test=x[700:], y_test=y[700:])
    return path


@pytest.fixture(autouse=True)
def _torch_threads():
    torch.set_num_threads(2)
    yield
