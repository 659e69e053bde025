"""Batch norm with Keras's moving variance (nn/keras_batchnorm.py), against Keras's equations in NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from deepfit.errors import ConfigError
from deepfit.nn import BiasedBatchNorm1d, batch_norm, batchnorm_options


def test_biased_batch_norm_keeps_keras_moving_averages_and_torchs_outputs():
    """Keras's `BatchNormalization` (momentum 0.99, epsilon 1e-3), in NumPy: moving = 0.99 moving + 0.01 *
    the biased batch variance; the training output and its gradient are those of torch's batch norm."""
    layer = batch_norm(4, **batchnorm_options(0.01, 1e-3, "biased"))
    assert isinstance(layer, BiasedBatchNorm1d)
    plain = nn.BatchNorm1d(4, momentum=0.01, eps=1e-3)
    moving_mean, moving_var = np.zeros(4), np.ones(4)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        x = (torch.randn(16, 4, generator=g, dtype=torch.float64) * 3 + 2).float().requires_grad_()
        xs = x.detach().double().numpy()
        moving_mean = 0.99 * moving_mean + 0.01 * xs.mean(0)
        moving_var = 0.99 * moving_var + 0.01 * xs.var(0)  # numpy's var is the biased one
        y = layer(x)
        (gx,) = torch.autograd.grad((y * torch.arange(4.0)).sum() + (y**3).sum(), x)
        x2 = x.detach().clone().requires_grad_()
        y2 = plain(x2)
        (gx2,) = torch.autograd.grad((y2 * torch.arange(4.0)).sum() + (y2**3).sum(), x2)
        torch.testing.assert_close(y, y2)
        torch.testing.assert_close(gx, gx2, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.running_mean.numpy(), moving_mean, rtol=1e-5)
    np.testing.assert_allclose(layer.running_var.numpy(), moving_var, rtol=1e-5)
    assert not np.allclose(plain.running_var.numpy(), moving_var, rtol=1e-4)  # torch's: unbiased, n / (n - 1)


def test_running_var_option_is_checked():
    with pytest.raises(ConfigError, match=r'model.norm_running_var: expected "unbiased" or "biased", got .sample.'):
        batchnorm_options(running_var="sample")


def test_a_saved_model_reloads_with_keras_batch_norm_and_its_moving_variance(tmp_path):
    from deepfit.nn import ModelSpec, build_model, load_model, save_model

    spec = ModelSpec((6,), 3, hidden=[5], norm="before", norm_momentum=0.01, norm_eps=1e-3,
                     norm_running_var="biased")
    model = build_model(spec)
    model.train()
    model(torch.randn(32, 6) * 2)
    save_model(model, spec, tmp_path)
    again, loaded, _, _ = load_model(tmp_path)
    assert loaded.norm_running_var == "biased" and isinstance(again.hidden1.norm, BiasedBatchNorm1d)
    torch.testing.assert_close(again.hidden1.norm.running_var, model.hidden1.norm.running_var)
