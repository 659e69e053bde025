import pytest
import torch

from deepfit.errors import ConfigError
from deepfit.nn.activations import ACTIVATIONS, build_activation


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_activation_maps_batch_to_same_shape_and_is_finite(name):
    act = build_activation(name, 7)
    x = torch.linspace(-5, 5, 70).reshape(10, 7)
    y = act(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()


def test_relu_family_keeps_positive_inputs():
    x = torch.tensor([[0.5, 2.0, 3.0]])
    for name in ("relu", "leaky_relu", "elu", "prelu"):
        assert torch.equal(build_activation(name, 3)(x), x), name


def test_rrelu_random_slope_in_training_mean_slope_in_eval():
    act = build_activation({"name": "rrelu", "lower": 0.1, "upper": 0.3}, 1000)
    x = -torch.ones(1, 1000)
    act.train()
    torch.manual_seed(0)
    slopes = -act(x)
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert slopes.std() > 0.03
    act.eval()
    assert torch.allclose(-act(x), torch.full((1, 1000), 0.2))


def test_prelu_learns_its_slope():
    act = build_activation("prelu", 4)
    before = act.weight.detach().clone()
    opt = torch.optim.SGD(act.parameters(), lr=1.0)
    x = -torch.ones(8, 4)
    for _ in range(100):  # target: slope 0.9 on negative inputs
        loss = ((act(x) - (-0.9)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert before.shape == (4,)
    assert torch.allclose(act.weight, torch.full((4,), 0.9), atol=0.05)


def test_prelu_shared_has_one_slope():
    assert build_activation({"name": "prelu", "shared": True}, 4).weight.shape == (1,)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "rrelu", "lower": 0.5, "upper": 0.1}, "lower <= upper"),
        ({"name": "elu", "alpha": -1}, "alpha must be >= 0"),
        ("relux", "unknown activation 'relux'; did you mean 'relu'"),
    ],
)
def test_bad_activation_specs_name_the_problem(spec, message):
    with pytest.raises(ConfigError, match=message):
        build_activation(spec, 3)
