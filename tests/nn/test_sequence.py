"""A model as its primitive layers in forward order (nn/sequence.py)."""

from __future__ import annotations

from torch import nn

from deepfit.nn.blocks import DenseBlock
from deepfit.nn.sequence import flat_layers


def _kinds(model: nn.Module) -> list[tuple[str, str]]:
    return [(name, type(m).__name__) for name, m in flat_layers(model)]


def test_dense_blocks_open_in_the_order_their_norm_position_applies():
    net = nn.Sequential(DenseBlock(4, 5, nn.ReLU(), norm="before", dropout=0.1),
                        DenseBlock(5, 5, nn.Tanh(), norm="after"), nn.Linear(5, 2))
    assert _kinds(net) == [("0.linear", "Linear"), ("0.norm", "BatchNorm1d"), ("0.activation", "ReLU"),
                           ("0.dropout", "Dropout"), ("1.linear", "Linear"), ("1.activation", "Tanh"),
                           ("1.norm", "BatchNorm1d"), ("2", "Linear")]


def test_identities_are_left_out_and_nested_sequentials_open():
    net = nn.Sequential(nn.Identity(), nn.Sequential(nn.Linear(2, 2), nn.Identity(), nn.ReLU()))
    assert _kinds(net) == [("1.0", "Linear"), ("1.2", "ReLU")]
    assert flat_layers(nn.Identity()) == []


class _Own(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(2, 2)

    def forward(self, x):
        return self.a(x) + x


def test_a_model_with_its_own_forward_and_a_block_with_extra_parts_stay_one_item():
    block = DenseBlock(2, 2, nn.ReLU())
    block.extra = nn.Linear(2, 2)
    net = nn.Sequential(_Own(), block)
    assert _kinds(net) == [("0", "_Own"), ("1", "DenseBlock")]
    assert _kinds(_Own()) == [("", "_Own")]
