import pytest
import torch
from torch.nn import functional as F

from deepfit.errors import ConfigError
from deepfit.nn import ModelSpec
from deepfit.pretrain import Corrupt, pretrain_autoencoder
from deepfit.train import UpdateRule


def test_layerwise_autoencoder_learns_to_reconstruct_low_rank_data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 3, generator=g) @ torch.randn(3, 20, generator=g)  # rank 3 in 20 dimensions
    spec = ModelSpec(input_shape=(20,), num_outputs=1, hidden=[6, 4], activation="linear", init="glorot_uniform")
    torch.manual_seed(0)
    model, rows = pretrain_autoencoder(spec, x, epochs=12, rule=UpdateRule("adam", {"lr": 3e-2}), batch_size=32)
    assert [r["layer"] for r in rows] == [1, 2]
    assert rows[0]["loss"] < 0.05 * float(x.var())  # 6 linear units span the 3-d subspace
    with torch.no_grad():
        h = model.hidden1(x)
    assert h.shape == (256, 6) and float(h.var()) > 0.01


def test_corruption_is_applied_in_training_only():
    x = torch.ones(1000, 50)
    drop = Corrupt("dropout", 0.3).train()
    zeros = float((drop(x) == 0).float().mean())
    assert 0.25 < zeros < 0.35
    noisy = Corrupt("gaussian", 0.5).train()(x)
    assert 0.45 < float((noisy - x).std()) < 0.55
    assert torch.equal(Corrupt("gaussian", 0.5).eval()(x), x)


@pytest.mark.parametrize(
    "kind, level, match",
    [("salt", 0.1, "expected one of none, gaussian, dropout"), ("dropout", 1.5, r"must be in \(0, 1\), got 1.5")],
)
def test_bad_noise_is_an_error(kind, level, match):
    with pytest.raises(ConfigError, match=match):
        Corrupt(kind, level)


def test_denoising_autoencoder_still_trains():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(128, 8, generator=g)
    spec = ModelSpec(input_shape=(8,), num_outputs=1, hidden=[8], activation="linear", init="glorot_uniform")
    rule = UpdateRule("adam", {"lr": 3e-2})
    _, rows = pretrain_autoencoder(spec, x, epochs=5, rule=rule, noise="dropout", noise_level=0.2)
    assert rows[0]["loss"] < F.mse_loss(torch.zeros_like(x), x).item()
