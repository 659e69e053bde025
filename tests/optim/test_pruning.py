import pytest
import torch
from torch import nn

from deepfit.data import TensorData
from deepfit.errors import ConfigError
from deepfit.nn import ModelSpec, build_model
from deepfit.optim import apply_masks_, magnitude_masks, sparsity_report
from deepfit.train import Trainer, UpdateRule, objective_for


def _model():
    torch.manual_seed(0)
    return build_model(ModelSpec((20,), 4, hidden=[30, 10]))


def test_target_sparsity_zeroes_that_fraction_of_each_layer_by_magnitude():
    model = _model()
    smallest = model.hidden1.linear.weight.abs().flatten().sort().values
    apply_masks_(model, magnitude_masks(model, sparsity=0.9))
    report = sparsity_report(model)
    for name in ("hidden1.linear", "hidden2.linear", "output"):
        assert report[name]["zeros_pct"] == pytest.approx(90.0, abs=1.0)
    w = model.hidden1.linear.weight
    assert w.abs()[w != 0].min() >= smallest[int(0.9 * smallest.numel()) - 1]  # the largest ones survive


def test_threshold_prunes_small_weights_only():
    model = _model()
    before = model.hidden2.linear.weight.detach().clone()
    apply_masks_(model, magnitude_masks(model, threshold=0.1))
    after = model.hidden2.linear.weight
    assert torch.equal(after == 0, before.abs() <= 0.1)
    assert torch.equal(after[after != 0], before[before.abs() > 0.1])


def test_masks_stay_fixed_while_fine_tuning():
    model = _model()
    masks = magnitude_masks(model, sparsity=0.5)
    apply_masks_(model, masks)
    zeros = {n: (m.weight == 0).clone() for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    before = model.hidden1.linear.weight.detach().clone()
    trainer = Trainer(model, objective_for("auto", "multiclass"), UpdateRule("adam", {"lr": 0.1}, masks=masks),
                      batch_size=16)
    trainer.fit(TensorData(torch.randn(48, 20), torch.randint(0, 4, (48,))), epochs=1)  # 3 steps
    assert not torch.equal(model.hidden1.linear.weight, before)  # the kept weights trained
    for n, m in model.named_modules():
        if isinstance(m, nn.Linear):
            assert torch.equal(m.weight == 0, zeros[n])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sparsity": 1.0}, r"sparsity must be in \[0, 1\), got 1.0"),
        ({"threshold": -1.0}, "threshold must be >= 0"),
        ({}, "exactly one of sparsity or threshold"),
    ],
)
def test_bad_pruning_settings_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        magnitude_masks(_model(), **kwargs)


def test_ftrl_with_l1_gives_exact_zeros_that_sparsity_report_counts():
    model = _model()
    x, y = torch.randn(64, 20), torch.randint(0, 4, (64,))
    trainer = Trainer(model, objective_for("auto", "multiclass"), UpdateRule("ftrl", {"lr": 0.1, "l1": 0.5}),
                      batch_size=64)
    trainer.fit(TensorData(x, y), epochs=5)
    assert sparsity_report(model)["total"]["zeros_pct"] > 50.0
    assert sparsity_report(_model())["total"]["zeros_pct"] == 0.0
