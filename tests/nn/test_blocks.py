"""The dense block (nn/blocks.py): linear -> [batch norm] -> activation -> [batch norm] -> [dropout]."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepfit.nn.blocks import DenseBlock


def _x() -> torch.Tensor:
    return torch.randn(8, 4, generator=torch.Generator().manual_seed(0))


def test_norm_before_puts_batch_norm_between_linear_and_activation_and_drops_the_bias():
    block = DenseBlock(4, 5, nn.ReLU(), norm="before").train()
    assert block.linear.bias is None and isinstance(block.norm, nn.BatchNorm1d)
    x = _x()
    torch.testing.assert_close(block(x), torch.relu(nn.functional.batch_norm(
        block.linear(x), None, None, block.norm.weight, block.norm.bias, training=True)))


def test_norm_after_normalizes_the_activations_and_keeps_the_bias():
    block = DenseBlock(4, 5, nn.Tanh(), norm="after").train()
    assert block.linear.bias is not None
    out = block(_x())
    torch.testing.assert_close(out.mean(0), torch.zeros(5), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var(0, unbiased=False), torch.ones(5), atol=1e-3, rtol=0)


def test_without_norm_or_dropout_the_block_is_activation_of_linear():
    block = DenseBlock(4, 5, nn.ELU())
    assert isinstance(block.norm, nn.Identity)
    torch.testing.assert_close(block(_x()), nn.functional.elu(block.linear(_x())))


def test_norm_options_reach_the_batch_norm_layer():
    block = DenseBlock(4, 5, nn.ReLU(), norm="before", norm_options={"momentum": 0.01, "eps": 1e-3})
    assert (block.norm.momentum, block.norm.eps) == (0.01, 1e-3)


@pytest.mark.parametrize("kind", ["standard", "alpha"])
def test_dropout_acts_in_training_only(kind):
    block = DenseBlock(4, 64, nn.SELU(), dropout=0.5, dropout_kind=kind)
    x = _x()
    torch.manual_seed(0)
    assert not torch.equal(block.train()(x), block.eval()(x))
    torch.testing.assert_close(block.eval()(x), nn.functional.selu(block.linear(x)))
