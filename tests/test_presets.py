import argparse
from pathlib import Path

import pytest

from deepfit.cli.main import main
from deepfit.cli.options import add_run_options, config_from_args
from deepfit.config import config_from_dict, load_config
from deepfit.errors import ConfigError
from deepfit.presets import DEFAULT_TRAIN_PRESET, PRESETS

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_run_options(p)
    return p.parse_args(list(argv))


@pytest.mark.parametrize("name", PRESETS.names())
def test_each_preset_is_its_commented_config_file(name):
    assert load_config(CONFIGS / f"{name}.toml") == config_from_dict(PRESETS.build(name), source=name)


def test_train_starts_from_the_default_preset_only_without_a_config_file(tmp_path):
    default = config_from_args(_args(), default_preset=DEFAULT_TRAIN_PRESET)
    assert default == config_from_dict(PRESETS.build(DEFAULT_TRAIN_PRESET), source="preset")
    toml = tmp_path / "c.toml"
    toml.write_text("[model]\nhidden = [7]\n")
    from_file = config_from_args(_args("--config", str(toml)), default_preset=DEFAULT_TRAIN_PRESET)
    assert from_file.model.hidden == [7] and from_file.model.norm is None  # no preset below the file


def test_preset_sits_below_the_config_file_and_the_overrides(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text("[optimizer]\nname = \"sgd\"\nlr = 0.01\n")
    cfg = config_from_args(_args("--preset", "guidelines_selu", "--config", str(toml), "--set", "model.dropout=0.05"))
    assert cfg.model.activation == "selu" and cfg.model.dropout_kind == "alpha"  # from the preset
    assert cfg.optimizer.name == "sgd" and cfg.model.dropout == 0.05  # file and --set win


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"--preset.*guidelines"):
        config_from_args(_args("--preset", "best"))


def test_resume_refuses_a_preset(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "--preset", "reference"]) == 2
    assert "--preset" in capsys.readouterr().err
