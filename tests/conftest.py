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


SWEEP_VARIANTS = ["lr=0.001,activation=relu", "lr=0.003,activation=selu"]


@pytest.fixture
def sweep_result():
    """A finished two-variant, two-seed sweep's `StudyResult`, its figures made up, nothing trained."""
    from deepfit.studies.runner import StudyResult, summarize_runs
    from deepfit.studies.spec import Study

    runs = [{"variant": v, "seed": s, "epochs": 2, "seconds_per_epoch": 0.6302 + s / 100, "members": 4,
             "train_acc": 0.9153 - i / 10 + s / 50, "val_acc": 0.7412 + i / 100 + s / 300,
             "val_loss": 0.7524 + s / 80, "test_acc": 0.7275 - s / 200}
            for i, v in enumerate(SWEEP_VARIANTS) for s in range(2)]
    study = Study(name="sweep", claim="a sweep", base={}, variants={v: {} for v in SWEEP_VARIANTS}, seeds=2,
                  kind="sweep")
    return StudyResult(study, runs, summarize_runs(runs, SWEEP_VARIANTS), {v: [] for v in SWEEP_VARIANTS})
