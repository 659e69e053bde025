import pytest
import torch

from deepfit.errors import ConfigError
from deepfit.nn import ModelSpec, build_model
from deepfit.optim import apply_lr_
from deepfit.transfer import freeze, group_sizes, param_groups


def _model():
    torch.manual_seed(0)
    return build_model(ModelSpec(input_shape=(5,), num_outputs=3, hidden=[8, 6]))


def test_reused_layers_get_a_lower_learning_rate_than_new_ones():
    groups = param_groups(_model(), 0.01, reused=["hidden1", "hidden2"], lr_factor=0.1)
    assert [(g["name"], g["lr"]) for g in groups] == [("new", 0.01), ("reused", pytest.approx(0.001))]
    assert group_sizes(groups) == {"new": 6 * 3 + 3, "reused": 5 * 8 + 8 + 8 * 6 + 6}


def test_frozen_parameters_are_left_out_and_empty_groups_dropped():
    model = _model()
    freeze(model, ["hidden1", "hidden2"])
    groups = param_groups(model, 0.01, reused=["hidden1", "hidden2"])
    assert [g["name"] for g in groups] == ["new"]


def test_schedule_keeps_the_groups_in_proportion():
    opt = torch.optim.SGD(param_groups(_model(), 0.01, reused=["hidden1"], lr_factor=0.1), lr=0.01)
    apply_lr_(opt, lambda step: 0.005, 0.01, 3)
    assert [g["lr"] for g in opt.param_groups] == [pytest.approx(0.005), pytest.approx(0.0005)]


def test_non_positive_factor_is_an_error():
    with pytest.raises(ConfigError, match="lr_factor must be > 0, got 0"):
        param_groups(_model(), 0.01, lr_factor=0)
