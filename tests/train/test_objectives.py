"""Losses by name (train/objectives.py): per-sample values against torch's, predictions and hits."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from deepfit.errors import DeepfitError
from deepfit.train.objectives import LOSSES, TASK_LOSSES, objective_for, per_sample


def _logits(n: int = 6, c: int = 4) -> torch.Tensor:
    return torch.randn(n, c, generator=torch.Generator().manual_seed(0))


def test_cross_entropy_is_torchs_per_sample_with_softmax_outputs_and_top1_hits():
    z, y = _logits(), torch.tensor([0, 1, 2, 3, 0, 1])
    ce = objective_for("auto", "multiclass")
    torch.testing.assert_close(ce.loss(z, y), F.cross_entropy(z, y, reduction="none"))
    torch.testing.assert_close(ce.mean_loss(z, y), F.cross_entropy(z, y))
    torch.testing.assert_close(ce.output(z).sum(1), torch.ones(6))
    assert ce.correct(z, y).item() == (z.argmax(1) == y).sum().item()


def test_binary_cross_entropy_reads_one_logit_and_hits_where_its_sign_matches_the_label():
    z, y = torch.tensor([[2.0], [-1.0], [0.3], [-3.0]]), torch.tensor([1.0, 1.0, 0.0, 0.0])
    bce = objective_for("auto", "binary")
    torch.testing.assert_close(bce.loss(z, y), F.binary_cross_entropy_with_logits(z[:, 0], y, reduction="none"))
    torch.testing.assert_close(bce.output(z), torch.sigmoid(z[:, 0]))
    assert bce.hits(z, y).tolist() == [1.0, 0.0, 0.0, 1.0]


def test_mse_is_the_squared_error_and_has_no_accuracy():
    z, y = torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0])
    mse = objective_for("auto", "regression")
    assert mse.loss(z, y).tolist() == [1.0, 4.0] and mse.output(z).tolist() == [1.0, 3.0]
    with pytest.raises(ValueError, match="objective 'mse' has no accuracy"):
        mse.correct(z, y)


def test_auto_picks_each_tasks_usual_loss_and_a_name_overrides_it():
    assert {task: objective_for("auto", task).name for task in TASK_LOSSES} == TASK_LOSSES
    assert objective_for("mean_squared_error", "multiclass").name == "mse"
    assert objective_for("sparse_categorical_crossentropy", "binary").name == "cross_entropy"


def test_an_unknown_loss_is_refused_by_name():
    with pytest.raises(DeepfitError, match=r"unknown loss 'hinge'.* valid: .*cross_entropy"):
        LOSSES.build("hinge")


def test_per_sample_averages_every_axis_but_the_first():
    z, y = torch.arange(6.0).view(2, 3), torch.zeros(2, 3)
    loss = per_sample(lambda a, b: F.mse_loss(a, b, reduction="none"))
    assert loss(z, y).tolist() == [pytest.approx(5 / 3), pytest.approx(50 / 3)]
    assert per_sample(lambda a, b: (a - b).abs())(torch.tensor([1.0, -2.0]), torch.zeros(2)).tolist() == [1.0, 2.0]
