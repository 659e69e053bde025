"""Restricted Boltzmann machines trained with contrastive divergence, stacked greedily into a deep belief net.

Bernoulli-Bernoulli RBM (Smolensky 1986; Hinton 2002): binary visible units v and hidden units h with
energy E(v, h) = -b'v - c'h - h'Wv. Inputs must lie in [0, 1] (pixel intensities read as probabilities),
so load the data with `standardize = false`. Stacking follows Hinton, Osindero & Teh (2006): each RBM is
trained on the hidden probabilities p(h | v) of the one below, and its (W, c) initialise a sigmoid layer.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from deepfit.errors import ConfigError, DataError
from deepfit.nn import ModelSpec
from deepfit.nn.activations import activation_name
from deepfit.pretrain.layerwise import fit_layer, stack_greedily, unsupervised


class RBM(nn.Module):
    """A Bernoulli-Bernoulli RBM whose forward pass returns the CD-k surrogate loss per sample.

    ```
    F(v)       = -b'v - sum_j softplus(c_j + W_j v)          free energy
    v_k        = k steps of Gibbs sampling from v (h ~ p(h|v), v ~ p(v|h)), no gradient through it
    d/dtheta [F(v) - F(v_k)] = the CD-k estimate of -d log p(v) / dtheta   (Hinton 2002)
    ```
    """

    def __init__(self, visible: int, hidden: int, k: int = 1) -> None:
        super().__init__()
        if k < 1:
            raise ConfigError(f"rbm: k (Gibbs steps of CD-k) must be >= 1, got {k}")
        self.k = k
        self.linear = nn.Linear(visible, hidden)  # W (hidden, visible) and the hidden bias c
        nn.init.normal_(self.linear.weight, std=0.01)  # Hinton's (2010) practical guide: N(0, 0.01^2)
        nn.init.zeros_(self.linear.bias)
        self.visible_bias = nn.Parameter(torch.zeros(visible))  # b

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        return -(v @ self.visible_bias) - F.softplus(self.linear(v)).sum(dim=1)  # (batch,)

    def hidden_probs(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.linear(v))  # p(h = 1 | v), (batch, hidden)

    def visible_probs(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(h @ self.linear.weight + self.visible_bias)  # p(v = 1 | h), (batch, visible)

    @torch.no_grad()
    def gibbs(self, v: torch.Tensor, steps: int) -> torch.Tensor:
        for _ in range(steps):
            h = torch.bernoulli(self.hidden_probs(v))
            v = torch.bernoulli(self.visible_probs(h))
        return v

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        v_model = self.gibbs(v, self.k)
        return (self.free_energy(v) - self.free_energy(v_model)).unsqueeze(1)  # (batch, 1)

    @torch.no_grad()
    def reconstruction_error(self, v: torch.Tensor) -> float:
        """Mean squared error of the mean-field reconstruction p(v | p(h | v)): a monitor, not the objective."""
        return float(F.mse_loss(self.visible_probs(self.hidden_probs(v)), v))


def pretrain_rbm(
    spec: ModelSpec,
    x: torch.Tensor,
    *,
    valid: torch.Tensor | None = None,
    k: int = 1,
    **fit_options: object,
) -> tuple[nn.Sequential, list[dict[str, float]]]:
    """The model of `spec` (sigmoid activation required) with its hidden layers pretrained as stacked RBMs.

    Raises:
        ConfigError: the activation is not sigmoid (an RBM's hidden units are logistic).
        DataError: inputs outside [0, 1].
    """
    if activation_name(spec.activation) != "sigmoid":
        raise ConfigError(f"rbm pretraining needs model.activation = 'sigmoid', got {spec.activation!r}")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:
        raise DataError(
            f"rbm pretraining needs inputs in [0, 1], got [{lo:.3g}, {hi:.3g}]; set data.standardize = false"
        )
    objective = unsupervised("cd_free_energy_gap", lambda gap, _v: gap.squeeze(1))

    def train_layer(i: int, inputs: torch.Tensor, units: int, valid_inputs: torch.Tensor | None):
        rbm = RBM(inputs.shape[1], units, k=k)
        rows = fit_layer(rbm, objective, inputs, valid=valid_inputs, **fit_options)
        check = valid_inputs if valid_inputs is not None else inputs[:4096]
        return {
            **rows[-1],
            "reconstruction_mse": rbm.reconstruction_error(check.to(rbm.linear.weight.device)),
        }, rbm.linear

    return stack_greedily(spec, x, train_layer, valid=valid)
