import pytest
import torch
from torch import nn

from deepfit.errors import ConfigError
from deepfit.nn import ModelSpec, build_model
from deepfit.optim import PENALTIES, layer_penalties, stacked_penalty
from deepfit.train import Trainer, UpdateRule, objective_for

LAYERS = ["hidden1.linear", "hidden2.linear", "output"]


def _model(norm: str = "none") -> nn.Sequential:
    torch.manual_seed(0)
    return build_model(ModelSpec((6,), 3, hidden=[5, 4], norm=norm))


def _kernels(model):
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]


def _penalty(model, penalty, layers=None):
    """The penalty the engine adds to the loss for `model` (a single member)."""
    rule = UpdateRule("sgd", penalty=penalty, penalty_layers=layers or {})
    trainer = Trainer(model, objective_for("auto", "multiclass"), rule)
    value = trainer.group.update.penalty()
    return None if value is None else value[0]


@pytest.mark.parametrize("name", PENALTIES.names())
def test_penalty_is_zero_at_zero_and_positive_elsewhere(name):
    fn = PENALTIES.build(name)
    assert float(fn(torch.zeros(3, 2))) == 0.0
    assert float(fn(torch.ones(3, 2))) > 0.0


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"name": "l1", "l1": 0.5}, lambda w: 0.5 * w.abs().sum()),
        ({"name": "l2", "l2": 0.25}, lambda w: 0.25 * (w**2).sum()),
        ({"name": "l1_l2", "l1": 0.1, "l2": 0.2}, lambda w: 0.1 * w.abs().sum() + 0.2 * (w**2).sum()),
    ],
)
def test_penalty_sums_over_kernels_only_as_keras_defines_it(spec, expected):
    model = _model(norm="after")
    want = sum(expected(w.detach()) for w in _kernels(model))
    assert torch.allclose(_penalty(model, spec), want)
    with torch.no_grad():  # biases and batch norm change nothing
        for m in model.modules():
            if isinstance(m, nn.Linear) and m.bias is not None:
                m.bias.fill_(5.0)
            if isinstance(m, nn.BatchNorm1d):
                m.weight.fill_(7.0)
    assert torch.allclose(_penalty(model, spec), want)


def test_bias_is_penalised_only_when_asked():
    model = _model()
    with torch.no_grad():
        model.output.bias.fill_(1.0)
    want = sum((w.detach() ** 2).sum() for w in _kernels(model)) + model.output.bias.numel()
    assert torch.allclose(_penalty(model, {"name": "l2", "l2": 1.0, "bias": True}), want)


def test_per_layer_override_replaces_the_default():
    model = _model()
    want = model.hidden1.linear.weight.detach().abs().sum() + 0.01 * (model.hidden2.linear.weight.detach() ** 2).sum()
    got = _penalty(model, "l2", layers={"output": "none", "hidden1": {"name": "l1", "l1": 1.0}})
    assert torch.allclose(got, want)


def test_no_penalty_gives_nothing_to_add():
    assert _penalty(_model(), None) is None
    assert _penalty(_model(), "l2", layers={"hidden1": "none", "hidden2": False, "output": "none"}) is None


def test_penalty_gradient_is_2_l2_w():
    w = torch.randn(2, 4, 3, requires_grad=True)  # two members' kernels
    l2 = torch.tensor([[0.5], [0.1]])
    stacked_penalty([w], None, l2).sum().backward()
    assert torch.allclose(w.grad, 2 * l2.view(2, 1, 1) * w.detach())


def test_stacked_penalty_gives_each_member_its_own_factors():
    w = torch.randn(2, 4, 3)
    got = stacked_penalty([w], torch.tensor([[0.1], [0.0]]), torch.tensor([[0.0], [0.3]]))
    assert torch.allclose(got, torch.stack([0.1 * w[0].abs().sum(), 0.3 * (w[1] ** 2).sum()]))


@pytest.mark.parametrize(
    ("spec", "layers", "match"),
    [
        ({"name": "l2", "l2": -0.1}, None, "l2 must be >= 0, got -0.1"),
        ({"name": "l1", "l1": -1}, None, "l1 must be >= 0"),
        ("l3", None, "unknown penalty 'l3'"),
        ("l2", {"hidden9": "l1"}, "regularization.layers: 'hidden9' names no layer"),
        ({"name": "l2", "bias": "yes"}, None, "bias must be true or false"),
    ],
)
def test_bad_penalty_is_a_config_error(spec, layers, match):
    with pytest.raises(ConfigError, match=match):
        layer_penalties(LAYERS, spec, layers)
