import pytest
import torch

from deepfit.errors import ConfigError
from deepfit.nn import ModelSpec, build_model
from deepfit.transfer import freeze, frozen_layers, select_layers, trainable_parameters, unfreeze


def _model(norm="none"):
    torch.manual_seed(0)
    return build_model(ModelSpec(input_shape=(5,), num_outputs=3, hidden=[8, 6, 4], norm=norm))


@pytest.mark.parametrize(
    "which, names",
    [
        (0, ["hidden1"]),
        (-1, ["output"]),
        ("hidden2", ["hidden2"]),
        (slice(0, 2), ["hidden1", "hidden2"]),
        (range(1, 3), ["hidden2", "hidden3"]),
        (["output", 0], ["hidden1", "output"]),
        ("all", None),
    ],
)
def test_select_layers_by_index_name_range_or_list(which, names):
    model = _model()
    assert select_layers(model, which) == (names or ["hidden1", "hidden2", "hidden3", "output"])


@pytest.mark.parametrize(
    "which, match",
    [("hiden2", "no layer named 'hiden2'.*'hidden2'"), (7, "index 7 is out of range; this model has 4 layers")],
)
def test_freezing_something_that_does_not_exist_names_what_does(which, match):
    with pytest.raises(ConfigError, match=match):
        freeze(_model(), which)


def test_frozen_layers_get_no_gradient_and_no_optimizer_state():
    model = _model()
    freeze(model, slice(0, 2))
    assert frozen_layers(model) == ["hidden1", "hidden2"]
    opt = torch.optim.Adam(trainable_parameters(model), lr=0.1)
    w1 = model.hidden1.linear.weight.clone()
    model(torch.randn(16, 5)).sum().backward()
    opt.step()
    assert model.hidden1.linear.weight.grad is None
    assert torch.equal(model.hidden1.linear.weight, w1)
    assert model.hidden1.linear.weight not in opt.state and model.output.weight in opt.state
    unfreeze(model, "hidden2")
    assert frozen_layers(model) == ["hidden1"]


def test_frozen_batchnorm_keeps_running_stats_in_train_mode():
    model = _model(norm="before")
    model.train()
    model(torch.randn(32, 5) * 3 + 1)  # move the statistics away from their initial values
    freeze(model, "hidden1")
    model.train()
    bn = model.hidden1.norm
    mean, var = bn.running_mean.clone(), bn.running_var.clone()
    for _ in range(3):
        model(torch.randn(32, 5) * 5 - 2)
    assert not bn.training and model.hidden2.norm.training
    assert torch.equal(bn.running_mean, mean) and torch.equal(bn.running_var, var)
    unfreeze(model, "hidden1")
    model.train()
    model(torch.randn(32, 5) * 5 - 2)
    assert bn.training and not torch.equal(bn.running_mean, mean)
