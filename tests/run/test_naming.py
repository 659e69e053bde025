import pytest

from deepfit.cli.main import build_parser
from deepfit.cli.options import config_from_args
from deepfit.config import config_from_dict
from deepfit.presets import DEFAULT_TRAIN_PRESET
from deepfit.run.naming import named_run, trained_name


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"model": {"factory": "my_nets.py:build"}}, "my_nets"),
        ({"model": {"factory": "nets/zoo.py:resnet"}}, "resnet"),
        ({"model": {"factory": "pkg.models:build"}}, "models"),
        ({"transfer": {"source": "runs/model_a-20261201"}}, "transfer-model_a-20261201"),
        ({}, None),
    ],
)
def test_a_run_is_named_after_what_it_trains(section, expected):
    assert trained_name(config_from_dict(section)) == expected


def test_a_name_someone_chose_is_kept_and_a_presets_is_replaced():
    cfg = config_from_dict({"name": "mine", "model": {"factory": "my_nets.py:build"}})
    assert named_run(cfg).name == "mine"
    preset = config_from_dict({"name": "guidelines-selu", "model": {"factory": "my_nets.py:build"}})
    assert named_run(preset, "guidelines-selu").name == "my_nets"


def test_train_with_model_is_not_named_after_the_default_preset(tmp_path):
    args = build_parser().parse_args(["train", "--model", str(tmp_path / "my_nets.py") + ":build"])
    assert config_from_args(args, default_preset=DEFAULT_TRAIN_PRESET).name == "my_nets"
    args = build_parser().parse_args(["train", "--model", "my_nets.py:build", "--name", "x"])
    assert config_from_args(args, default_preset=DEFAULT_TRAIN_PRESET).name == "x"
    args = build_parser().parse_args(["train", "--set", 'transfer.source="runs/model_a"'])
    assert config_from_args(args, default_preset=DEFAULT_TRAIN_PRESET).name == "transfer-model_a"
