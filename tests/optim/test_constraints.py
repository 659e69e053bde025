import pytest
import torch

from deepfit.data import TensorData
from deepfit.errors import ConfigError
from deepfit.nn import ModelSpec, build_model
from deepfit.optim import check_max_norm, max_norm_, max_norm_layers
from deepfit.optim.constraints import EPSILON
from deepfit.train import Trainer, UpdateRule, objective_for


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


def test_radii_broadcast_per_member_over_stacked_kernels():
    torch.manual_seed(0)
    w = torch.randn(3, 5, 7) * 3  # three members' (out, in) kernels
    radius = torch.tensor([0.5, 1.0, 100.0]).view(3, 1, 1)
    want = [_keras_max_norm(w[k], float(radius[k]), 1) for k in range(3)]
    max_norm_([w], radius, axis=2)
    for k in range(3):
        assert torch.allclose(w[k], want[k], atol=1e-6)


def _train(max_norm, hidden=(16, 8)):
    torch.manual_seed(0)
    model = build_model(ModelSpec((8,), 3, hidden=list(hidden)))
    rule = UpdateRule("sgd", {"lr": 10.0}, max_norm=max_norm)  # a huge step pushes norms far above r
    trainer = Trainer(model, objective_for("auto", "multiclass"), rule, batch_size=32)
    x, y = torch.randn(96, 8), torch.randint(0, 3, (96,))
    trainer.fit(TensorData(x, y), epochs=1)
    return model


def test_norms_never_exceed_r_after_training_steps():
    model = _train({"max_value": 0.5})
    for block in (model.hidden1, model.hidden2):
        assert torch.linalg.vector_norm(block.linear.weight, dim=1).max() <= 0.5 + 1e-5
    assert torch.linalg.vector_norm(model.output.weight, dim=1).max() > 0.5  # output left out by default


def test_include_output_constrains_the_output_layer_too():
    model = _train({"max_value": 1.0, "include_output": True}, hidden=(4,))
    assert torch.linalg.vector_norm(model.output.weight, dim=1).max() <= 1.0 + 1e-5


def test_max_norm_layers_are_the_hidden_ones_unless_asked():
    assert max_norm_layers(["hidden1.linear", "output"]) == ["hidden1.linear"]
    assert max_norm_layers(["hidden1.linear", "output"], include_output=True) == ["hidden1.linear", "output"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_value": 0.0}, "must be > 0, got 0.0"),
        ({"max_value": -1.0}, "must be > 0, got -1.0"),
        ({"max_value": 1.0, "axis": 2}, "max_norm.axis must be in"),
    ],
)
def test_bad_max_norm_is_a_config_error(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        check_max_norm(**kwargs)
