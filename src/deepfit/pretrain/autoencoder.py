"""Greedy layer-wise autoencoder pretraining, optionally denoising (Bengio et al. 2007; Vincent et al. 2008).

Each hidden layer is trained to reconstruct its input (the output of the layer below) through a linear
decoder with mean squared error; the decoders are thrown away and the encoders initialise the classifier.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from deepfit.errors import ConfigError
from deepfit.nn import ModelSpec
from deepfit.pretrain.layerwise import fit_layer, plain_block, stack_greedily, unsupervised
from deepfit.train import per_sample

NOISES = ("none", "gaussian", "dropout")


class Corrupt(nn.Module):
    """Input corruption of a denoising autoencoder, active in training only.

    `gaussian`: x + N(0, level^2) (Vincent et al. 2010 call it isotropic Gaussian noise); `dropout`: each
    input zeroed with probability `level` and the rest scaled by 1 / (1 - level), as in `nn.Dropout`.
    """

    def __init__(self, kind: str = "none", level: float = 0.0) -> None:
        super().__init__()
        if kind not in NOISES:
            raise ConfigError(f"autoencoder noise: expected one of {', '.join(NOISES)}, got {kind!r}")
        if kind != "none" and not (0 < level < (1 if kind == "dropout" else float("inf"))):
            bound = "(0, 1)" if kind == "dropout" else "> 0"
            raise ConfigError(f"autoencoder noise_level for {kind!r} must be in {bound}, got {level}")
        self.kind, self.level = kind, level

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.kind == "none":
            return x
        if self.kind == "gaussian":
            return x + self.level * torch.randn_like(x)
        return F.dropout(x, self.level, training=True)


def pretrain_autoencoder(
    spec: ModelSpec,
    x: torch.Tensor,
    *,
    valid: torch.Tensor | None = None,
    noise: str = "none",
    noise_level: float = 0.1,
    **fit_options: object,
) -> tuple[nn.Sequential, list[dict[str, float]]]:
    """The model of `spec` with its hidden layers pretrained as (denoising) autoencoders, bottom up.

    `fit_options` (the update `rule`, epochs per layer, batch_size, device, seed) go to `fit_layer`. Returns
    the model (its head untrained) and each layer's last history row (`loss` = reconstruction MSE).
    """
    corrupt = Corrupt(noise, noise_level if noise != "none" else 0.0)
    objective = unsupervised("reconstruction_mse", per_sample(lambda z, x: F.mse_loss(z, x, reduction="none")))

    def train_layer(i: int, inputs: torch.Tensor, units: int, valid_inputs: torch.Tensor | None):
        encoder = plain_block(spec, inputs.shape[1], units)
        autoencoder = nn.Sequential(corrupt, encoder, nn.Linear(units, inputs.shape[1]))  # linear decoder
        rows = fit_layer(autoencoder, objective, inputs, valid=valid_inputs, **fit_options)
        return rows[-1], encoder.linear

    return stack_greedily(spec, x, train_layer, valid=valid)
