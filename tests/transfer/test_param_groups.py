import pytest
import torch
from torch.nn import functional as F

from deepfit.data import TensorData
from deepfit.errors import ConfigError
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Trainer, UpdateRule, objective_for
from deepfit.transfer import lr_factors


def _model():
    torch.manual_seed(0)
    return build_model(ModelSpec(input_shape=(5,), num_outputs=3, hidden=[8, 6]))


def test_reused_layers_get_a_lower_learning_rate_than_new_ones():
    factors = lr_factors(_model(), reused=["hidden1", "hidden2"], lr_factor=0.1)
    assert factors == {"hidden1": 0.1, "hidden2": 0.1, "output": 1.0}
    assert lr_factors(_model(), reused=["hidden1"], head_lr_factor=0.5) == {"hidden1": 0.1, "hidden2": 0.5,
                                                                           "output": 0.5}


def test_a_schedule_keeps_the_layers_in_proportion_as_torch_param_groups_do():
    x, y = torch.randn(16, 5), torch.randint(0, 3, (16,))
    schedule = lambda step: 0.05 * 0.5**step  # noqa: E731
    torch_model, ours = _model(), _model()
    opt = torch.optim.SGD([{"params": torch_model.hidden1.parameters(), "lr": 0.005},
                           {"params": [*torch_model.hidden2.parameters(), *torch_model.output.parameters()]}], lr=0.05)
    for step in range(3):
        for group, ratio in zip(opt.param_groups, (0.1, 1.0), strict=True):
            group["lr"] = schedule(step) * ratio
        opt.zero_grad()
        F.cross_entropy(torch_model(x), y).backward()
        opt.step()
    rule = UpdateRule("sgd", schedule=schedule, lr_factors=lr_factors(ours, reused=["hidden1"], head_lr_factor=1.0))
    Trainer(ours, objective_for("auto", "multiclass"), rule, batch_size=16).fit(TensorData(x, y), epochs=3)
    for a, b in zip(torch_model.parameters(), ours.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_non_positive_factor_is_an_error():
    with pytest.raises(ConfigError, match="lr_factor must be > 0, got 0"):
        lr_factors(_model(), lr_factor=0)
