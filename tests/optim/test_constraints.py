import pytest
import torch
from torch import nn

from deepfit.errors import ConfigError
from deepfit.nn import ModelSpec, build_model
from deepfit.optim import build_max_norm, max_norm_
from deepfit.optim.constraints import EPSILON


def _keras_max_norm(w: torch.Tensor, r: float, axis: int) -> torch.Tensor:
    """Keras 3 `MaxNorm.__call__`: w * clip(norms, 0, r) / (epsilon + norms)."""
    norms = torch.sqrt((w**2).sum(dim=axis, keepdim=True))
    return w * (norms.clamp(0, r) / (EPSILON + norms))


@pytest.mark.parametrize("axis", [0, 1])
def test_max_norm_matches_keras_rule_for_vectors_above_r(axis):
    torch.manual_seed(0)
    w = torch.randn(6, 9) * 3
    want = _keras_max_norm(w, 1.5, axis)
    max_norm_([w], 1.5, axis)
    assert torch.allclose(w, want, atol=1e-6)
    assert torch.linalg.vector_norm(w, dim=axis).max() <= 1.5 + 1e-5


def test_vectors_within_r_are_unchanged_exactly():
    w = torch.tensor([[0.3, 0.4], [3.0, 4.0]])  # norms 0.5 and 5
    max_norm_([w], 1.0, 1)
    assert torch.equal(w[0], torch.tensor([0.3, 0.4]))
    assert torch.allclose(w[1], torch.tensor([0.6, 0.8]))


def test_norms_never_exceed_r_after_a_training_step():
    torch.manual_seed(0)
    model = build_model(ModelSpec((8,), 3, hidden=[16, 8]))
    constrain = build_max_norm(model, max_value=0.5)
    opt = torch.optim.SGD(model.parameters(), lr=10.0)  # a huge step pushes norms far above r
    for _ in range(3):
        x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        opt.zero_grad()
        constrain(model)
        for block in (model.hidden1, model.hidden2):
            assert torch.linalg.vector_norm(block.linear.weight, dim=1).max() <= 0.5 + 1e-5
    assert torch.linalg.vector_norm(model.output.weight, dim=1).max() > 0.5  # output left out by default


def test_include_output_constrains_the_output_layer_too():
    torch.manual_seed(0)
    model = build_model(ModelSpec((8,), 3, hidden=[4]))
    with torch.no_grad():
        model.output.weight.mul_(100)
    build_max_norm(model, 1.0, include_output=True)(model)
    assert torch.linalg.vector_norm(model.output.weight, dim=1).max() <= 1.0 + 1e-5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_value": 0.0}, "must be > 0, got 0.0"),
        ({"max_value": -1.0}, "must be > 0, got -1.0"),
        ({"axis": 2}, "max_norm.axis must be in"),
    ],
)
def test_bad_max_norm_is_a_config_error(kwargs, match):
    model = build_model(ModelSpec((8,), 3, hidden=[4]))
    with pytest.raises(ConfigError, match=match):
        build_max_norm(model, **kwargs)
