"""Greedy layer-wise stacking (pretrain/layerwise.py): each layer trained on the outputs of those below."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepfit.nn import ModelSpec
from deepfit.pretrain.layerwise import fit_layer, plain_block, stack_greedily, unsupervised
from deepfit.train import UpdateRule


def _encoder(seed: int, d: int, units: int) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(d, units)


def test_each_layer_sees_the_eval_mode_outputs_of_the_trained_layers_below_and_keeps_its_encoder():
    spec = ModelSpec(input_shape=(2, 3), num_outputs=2, hidden=[5, 4], norm="after", dropout=0.5)
    x, valid = torch.randn(20, 2, 3), torch.randn(7, 2, 3)
    seen, encoders = [], {}

    def train_layer(i, features, units, valid_features):
        seen.append((i, features.clone(), units, valid_features.clone()))
        encoders[i] = _encoder(i, features.shape[1], units)
        return {"loss": 0.1 * i}, encoders[i]

    model, rows = stack_greedily(spec, x, train_layer, valid=valid)
    assert rows == [{"layer": 1, "loss": 0.1}, {"layer": 2, "loss": pytest.approx(0.2)}]
    assert [(i, f.shape, u) for i, f, u, _ in seen] == [(1, (20, 6), 5), (2, (20, 5), 4)]
    torch.testing.assert_close(seen[0][1], x.flatten(1))
    model.eval()  # dropout off, batch norm on its running statistics: what the cached features used
    torch.testing.assert_close(seen[1][1], model.hidden1(x.flatten(1)))
    torch.testing.assert_close(seen[1][3], model.hidden1(valid.flatten(1)))
    for i in (1, 2):
        assert torch.equal(getattr(model, f"hidden{i}").linear.weight, encoders[i].weight)


def test_without_validation_data_the_layers_get_none():
    got = []

    def train_layer(i, features, units, valid_features):
        got.append(valid_features)
        return {}, _encoder(0, features.shape[1], units)

    stack_greedily(ModelSpec(input_shape=(3,), num_outputs=2, hidden=[2]), torch.randn(4, 3), train_layer)
    assert got == [None]


def test_a_plain_block_keeps_activation_and_init_and_drops_norm_and_dropout():
    spec = ModelSpec(input_shape=(3,), num_outputs=2, hidden=[4], activation="elu", norm="before", dropout=0.3)
    block = plain_block(spec, 6, 5)
    assert isinstance(block.activation, nn.ELU) and isinstance(block.norm, nn.Identity)
    assert (block.linear.in_features, block.linear.out_features) == (6, 5) and block.linear.bias is not None
    assert not any(isinstance(m, nn.Dropout) for m in block.modules())


def test_fit_layer_trains_a_model_to_reproduce_its_input():
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    model = nn.Sequential(nn.Linear(4, 4))
    objective = unsupervised("mse", lambda z, t: (z - t).square().mean(1))
    assert objective.hits is None and torch.equal(objective.output(x), x)
    rows = fit_layer(model, objective, x, valid=x[:16], rule=UpdateRule("adam", {"lr": 0.05}), epochs=10,
                     batch_size=16)
    assert len(rows) == 10 and rows[-1]["loss"] < 0.2 * rows[0]["loss"] and "val_loss" in rows[-1]
