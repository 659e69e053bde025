"""The GAN trains as a GAN should on a small synthetic set, and hands its discriminator's layers over intact."""

from __future__ import annotations

import pytest
import torch

from deepfit.errors import ConfigError, DataError
from deepfit.nn import ModelSpec
from deepfit.pretrain import build_gan, hand_over, pretrain_gan, train_gan
from deepfit.train import UpdateRule

RULE = UpdateRule("adam", {"lr": 2e-3, "betas": (0.5, 0.999)})  # Radford et al. (2016): Adam, beta1 = 0.5
SPEC = ModelSpec(input_shape=(2, 4), num_outputs=3, hidden=[32, 16], activation="leaky_relu", init="he_normal")


def _data(n: int = 1024, seed: int = 0) -> torch.Tensor:
    """Two Gaussian clusters in 8 dimensions, laid out as (n, 2, 4) samples."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(2, 8, generator=g) * 2
    return (centers[torch.randint(0, 2, (n,), generator=g)] + 0.5 * torch.randn(n, 8, generator=g)).reshape(n, 2, 4)


def test_gan_learns_the_data_and_the_discriminator_ends_away_from_trivial():
    x, valid = _data(768), _data(512, seed=0)
    torch.manual_seed(0)
    gap = (build_gan(SPEC, latent_dim=8).sample(512).mean(0) - valid.flatten(1).mean(0)).norm()  # untrained G
    gan, rows = train_gan(SPEC, x, valid=valid, latent_dim=8, rule=RULE, epochs=8, batch_size=64)
    assert all(torch.isfinite(torch.tensor([r["d_loss"], r["g_loss"]])).all() for r in rows)
    last = rows[-1]
    # near the game's equilibrium (D's loss 2 ln 2 = 1.386 when it can only guess), far from D winning (loss 0)
    assert 1.0 < last["d_loss"] < 1.6 and last["d_acc"] < 0.8, last
    # D still tells something apart without answering one class for everything (real 1.0 / fake 0.0 or back)
    assert 0.05 < last["val_d_real_acc"] < 0.95 and 0.05 < last["val_d_fake_acc"] < 0.95, last
    # G moved its samples onto the data: the mean gap shrinks to a fraction of the untrained one
    trained_gap = (gan.sample(512).mean(0) - valid.flatten(1).mean(0)).norm()
    assert trained_gap < 0.3 * gap, (float(gap), float(trained_gap))


def test_handed_over_layers_equal_the_discriminators():
    gan, _ = train_gan(SPEC, _data(256), latent_dim=8, rule=RULE, epochs=1, batch_size=64)
    model = hand_over(SPEC, gan.discriminator)
    for name in ("hidden1", "hidden2"):
        got, want = getattr(model, name).state_dict(), getattr(gan.discriminator, name).state_dict()
        assert got.keys() == want.keys()
        for k in got:
            torch.testing.assert_close(got[k], want[k], rtol=0, atol=0)
        assert getattr(model, name) is not getattr(gan.discriminator, name)  # copies: training one leaves the other
    assert model.output.out_features == 3 and gan.discriminator.critic.out_features == 1


def test_pretrain_gan_returns_the_spec_model_and_the_last_row():
    model, rows = pretrain_gan(SPEC, _data(256), latent_dim=4, rule=RULE, epochs=2, batch_size=64)
    assert model.hidden1.linear.weight.shape == (32, 8) and rows[0]["layer"] == "all" and rows[0]["epoch"] == 2


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="latent_dim must be >= 1, got 0"):
        build_gan(SPEC, latent_dim=0)
    with pytest.raises(DataError, match="10 training samples, fewer than one batch of 32"):
        train_gan(SPEC, _data(10), rule=RULE, epochs=1)
