"""Every example config in configs/ loads, and the reference one is the default configuration."""

from pathlib import Path

import numpy as np
import pytest

from deepfit.config import RunConfig, load_config
from deepfit.data import from_arrays
from deepfit.nn import ModelSpec
from deepfit.run import model_spec

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_example_config_validates(path):
    assert isinstance(load_config(path), RunConfig)


def test_reference_config_builds_the_default_network():
    (ref,) = [p for p in CONFIGS if p.name == "reference.toml"]
    splits = from_arrays(np.zeros((4, 28, 28), np.float32), np.arange(4) % 10, valid=0)
    assert model_spec(load_config(ref), splits) == model_spec(RunConfig(), splits)
    assert model_spec(RunConfig(), splits) == ModelSpec((28, 28), 4)


def test_the_example_cnn_factory_builds_a_network_with_one_output_per_class(monkeypatch, tmp_path):
    import torch

    from deepfit.run import build_member

    (cnn,) = [p for p in CONFIGS if p.name == "cnn.toml"]
    monkeypatch.chdir(tmp_path)  # the factory path is relative to the config file, not the current directory
    cfg = load_config(cnn)
    splits = from_arrays(np.zeros((4, 28, 28), np.float32), np.arange(4) % 10, valid=0,
                         class_names=[str(i) for i in range(10)])
    spec = model_spec(cfg, splits)
    model = build_member(cfg, spec)
    assert spec.factory == f"{cnn.parent / 'cnn.py'}:build" and spec.options == {"channels": [32, 64], "hidden": 128,
                                                                         "dropout": 0.3}
    assert model(torch.zeros(3, 28, 28)).shape == (3, 10)
    assert sum(p.numel() for p in model.parameters()) == 421_738  # the count docs/own-model.md gives
