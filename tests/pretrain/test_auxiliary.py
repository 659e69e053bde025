import pytest
import torch

from deepfit.data import TensorData
from deepfit.errors import ConfigError, DataError
from deepfit.nn import ModelSpec
from deepfit.pretrain import Siamese, contrastive_objective, make_pairs, pretrain_siamese
from deepfit.train import UpdateRule


def _blobs(n=300, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, 10, generator=g) * 3
    y = torch.randint(0, classes, (n,), generator=g)
    return TensorData(centers[y] + torch.randn(n, 10, generator=g), y)


def test_pairs_are_half_same_class_and_half_different():
    data = _blobs()
    pairs = make_pairs(data, 200, seed=1)
    assert pairs.x.shape == (200, 2, 10) and float(pairs.y.mean()) == 0.5
    assert torch.equal(pairs.y[:100], torch.ones(100)) and torch.equal(pairs.y[100:], torch.zeros(100))
    with pytest.raises(DataError, match="at least 2 classes, the data has 1"):
        make_pairs(TensorData(data.x, torch.zeros(300, dtype=torch.long)), 10)


def test_contrastive_loss_is_zero_for_close_matches_and_far_mismatches():
    obj = contrastive_objective(margin=2.0)
    d = torch.tensor([[0.0], [3.0], [1.0], [0.5]])
    same = torch.tensor([1.0, 0.0, 1.0, 0.0])
    # (0 + 0 + 1^2 + (2 - 0.5)^2) / 4 / 2
    assert obj.loss(d, same).tolist() == pytest.approx([0.0, 0.0, 0.5, 1.125])  # per pair
    assert float(obj.mean_loss(d, same)) == pytest.approx((1.0 + 2.25) / 8)
    assert int(obj.correct(d, same)) == 2
    with pytest.raises(ConfigError, match="margin must be > 0, got 0"):
        contrastive_objective(0)


@pytest.mark.parametrize("loss", ["contrastive", "binary"])
def test_siamese_encoder_learns_to_tell_same_from_different(loss):
    spec = ModelSpec(input_shape=(10,), num_outputs=1, hidden=[16, 8])
    torch.manual_seed(0)
    model, rows = pretrain_siamese(spec, _blobs(), valid=_blobs(200, seed=0), loss=loss, margin=4.0, epochs=4,
                                   rule=UpdateRule("adam", {"lr": 1e-2}))
    assert rows[-1]["val_acc"] > 0.85
    assert model.hidden2.linear.weight.shape == (8, 16)


def test_siamese_rejects_an_unknown_loss():
    with pytest.raises(ConfigError, match="expected one of contrastive, binary, got 'triplet'"):
        Siamese(torch.nn.Identity(), 4, "triplet")
