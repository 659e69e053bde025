"""Per-layer gradient norms outside the step (train/gradients.py)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from deepfit.train.gradients import gradient_norms
from deepfit.train.objectives import objective_for


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 3))


def test_each_kernels_norm_is_that_of_its_backward_gradient_in_training_mode():
    net, x, y = _net(), torch.randn(16, 4), torch.randint(0, 3, (16,))
    torch.manual_seed(1)
    names, norms = gradient_norms(net.eval(), objective_for("auto", "multiclass"), x, y)
    assert net.training  # a step's mode: dropout on
    assert net[0].weight.grad is None  # no .grad touched
    torch.manual_seed(1)  # the same dropout mask
    F.cross_entropy(net(x), y).backward()
    assert names == ["0", "3"]
    assert norms == pytest.approx([net[0].weight.grad.norm().item(), net[3].weight.grad.norm().item()], rel=1e-6)


def test_frozen_kernels_are_left_out_and_a_net_without_any_gives_nothing():
    net = _net()
    net[0].weight.requires_grad_(False)
    ce, x, y = objective_for("auto", "multiclass"), torch.randn(4, 4), torch.zeros(4).long()
    names, norms = gradient_norms(net, ce, x, y)
    assert names == ["3"] and len(norms) == 1 and norms[0] > 0
    for p in net.parameters():
        p.requires_grad_(False)
    assert gradient_norms(net, ce, x, y) == ([], [])
