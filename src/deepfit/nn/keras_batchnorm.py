"""Batch norm with Keras's moving variance, and the one constructor of the dense blocks' batch-norm layers."""

from __future__ import annotations

import torch
from torch import nn

Tensor = torch.Tensor


class BiasedBatchNorm1d(nn.BatchNorm1d):
    """Batch norm whose moving variance averages the biased batch variance, as Keras's `BatchNormalization`
    does (its `call` takes `ops.moments`); `nn.BatchNorm1d` averages the unbiased one (docs/batchnorm.md).

    ```
    training:  mu, var = mean and biased variance over the batch;   y = (x - mu) / sqrt(var + eps) * gamma + beta
               running_mean = (1 - momentum) * running_mean + momentum * mu
               running_var  = (1 - momentum) * running_var  + momentum * var        (torch: var * n / (n - 1))
    ```
    Evaluation is `nn.BatchNorm1d`'s. `momentum` follows PyTorch's convention (Keras 0.99 = 0.01).
    """

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training and self.track_running_stats) or self.momentum is None:
            return super().forward(x)
        dims = (0, *range(2, x.dim()))  # every axis but the features'
        shape = (1, -1) + (1,) * (x.dim() - 2)
        var, mu = torch.var_mean(x, dim=dims, correction=0)
        with torch.no_grad():
            self.running_mean.lerp_(mu, self.momentum)
            self.running_var.lerp_(var, self.momentum)
            self.num_batches_tracked.add_(1)
        y = (x - mu.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        return y * self.weight.view(shape) + self.bias.view(shape) if self.affine else y


def batch_norm(features: int, *, biased: bool = False, **options: float) -> nn.BatchNorm1d:
    """A batch norm layer over `features` from `batchnorm_options`: `BiasedBatchNorm1d` when `biased`."""
    return (BiasedBatchNorm1d if biased else nn.BatchNorm1d)(features, **options)
