"""Every example config in configs/ loads, and the reference one is the default configuration."""

from pathlib import Path

import pytest

from deepfit.config import RunConfig, load_config

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_example_config_validates(path):
    assert isinstance(load_config(path), RunConfig)


def test_reference_config_spells_out_the_defaults():
    (ref,) = [p for p in CONFIGS if p.name == "reference.toml"]
    assert load_config(ref) == RunConfig(name="reference")
