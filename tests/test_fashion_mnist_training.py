"""Integration: a few CPU epochs on 5,000 real Fashion-MNIST images reach 80% validation accuracy."""

from pathlib import Path

import pytest

from deepfit.config import load_config
from deepfit.run import run_training

FMNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.slow
@pytest.mark.skipif(not FMNIST.exists(), reason="needs `apt-get install dataset-fashion-mnist` (make test does it)")
def test_reference_net_reaches_80_percent_on_5000_images():
    cfg = load_config(None, ["data.subset=5000", "train.epochs=5", "train.early_stopping=false"])
    result = run_training(cfg, save=False)
    assert len(result.splits.train) == 5000
    assert len(result.splits.valid) == 5000
    assert result.metrics["valid"]["acc"] >= 0.80
    assert result.metrics["test"]["acc"] >= 0.78
