"""Dropout by name (standard inverted dropout, alpha dropout for SELU) and MC Dropout sampling.

Monte Carlo Dropout keeps only the dropout layers in training mode and averages many stochastic forward
passes (Gal & Ghahramani 2016); batch norm stays in evaluation mode throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from deepfit import names
from deepfit.errors import ConfigError
from deepfit.registry import Registry

Tensor = torch.Tensor
DROPOUTS: Registry[nn.Module] = Registry(names.DROPOUTS)
_DROPOUT_TYPES = (nn.modules.dropout._DropoutNd,)  # Dropout, AlphaDropout, FeatureAlphaDropout, ...


def check_rate(rate: float, field: str = "dropout") -> float:
    """A dropout rate in [0, 1); anything else is a `ConfigError` naming `field`."""
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1:
        raise ConfigError(f"{field}: a dropout rate must be in [0, 1), got {rate!r}")
    return float(rate)


@DROPOUTS.register(
    "standard", summary="inverted dropout: zero with prob p, scale kept units by 1/(1-p)"
)
def standard(rate: float) -> nn.Module:
    """Inverted dropout (Srivastava et al. 2014): `y = x * m / (1 - p)`, `m ~ Bernoulli(1 - p)` in training,
    `y = x` at inference, so the expected activation is the same in both modes."""
    return nn.Dropout(check_rate(rate)) if rate > 0 else nn.Identity()


@DROPOUTS.register(
    "alpha", summary="alpha dropout for SELU nets: keeps mean and variance (Klambauer 2017)"
)
def alpha(rate: float) -> nn.Module:
    """Alpha dropout (Klambauer et al. 2017): dropped units are set to SELU's negative saturation value
    `-lambda * alpha` and an affine map `a * x + b` restores zero mean and unit variance, so a
    self-normalizing network stays self-normalizing. Plain dropout would break that."""
    return nn.AlphaDropout(check_rate(rate)) if rate > 0 else nn.Identity()


def build_dropout(kind: str, rate: float) -> nn.Module:
    """A dropout layer of `kind` (`deepfit list dropouts`) with `rate`; `nn.Identity` when the rate is 0."""
    return DROPOUTS.build(kind, rate)


def dropout_modules(model: nn.Module) -> list[nn.Module]:
    """The dropout layers of `model` (any kind)."""
    return [m for m in model.modules() if isinstance(m, _DROPOUT_TYPES)]


@contextmanager
def mc_dropout(model: nn.Module) -> Iterator[nn.Module]:
    """Put `model` in evaluation mode except its dropout layers; restore every module's mode on exit."""
    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()
        for m in dropout_modules(model):
            m.train()
        yield model
    finally:
        for m, mode in modes.items():
            m.training = mode


@dataclass
class MCPrediction:
    """Monte Carlo Dropout summary over `samples` passes: mean probabilities (n, classes) or (n,), their
    standard deviation over passes, and the entropy of the mean (None for regression)."""

    mean: Tensor
    std: Tensor
    entropy: Tensor | None
    samples: int


def predictive_entropy(mean: Tensor) -> Tensor:
    """`H = -sum_k p_k log p_k` of the mean probabilities; one probability per row is a Bernoulli."""
    p = mean.clamp_min(1e-12)
    if mean.dim() == 1:
        q = (1 - mean).clamp_min(1e-12)
        return -(mean * p.log() + (1 - mean) * q.log())
    return -(mean * p.log()).sum(dim=-1)


@torch.no_grad()
def mc_predict(
    model: nn.Module,
    x: Tensor,
    output: Callable[[Tensor], Tensor],
    samples: int,
    *,
    seed: int = 0,
    max_rows: int = 65536,
    entropy: bool = True,
) -> MCPrediction:
    """MC Dropout: `samples` stochastic passes over `x`, summarised as mean, std and predictive entropy.

    The passes are vectorised: the batch is repeated `k` times and run as one forward pass of k * n rows,
    with `k` as large as `max_rows` allows. Dropout masks come from a forked RNG seeded with `seed`, so
    a call is reproducible and leaves the global RNG as it was.
    """
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ConfigError(f"mc_samples must be an integer >= 1, got {samples!r}")
    n = x.shape[0]
    per_pass = max(1, max_rows // max(1, n))  # passes per forward
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), mc_dropout(model):
        torch.manual_seed(seed)
        s1 = s2 = None
        done = 0
        while done < samples:
            k = min(per_pass, samples - done)
            rep = x.repeat(k, *([1] * (x.dim() - 1)))  # (k * n, *sample_shape)
            probs = output(model(rep)).double()
            probs = probs.reshape(k, n, *probs.shape[1:])  # (k, n, ...)
            part1, part2 = probs.sum(0), probs.square().sum(0)
            s1 = part1 if s1 is None else s1 + part1
            s2 = part2 if s2 is None else s2 + part2
            done += k
    mean = s1 / samples
    var = (s2 / samples - mean.square()).clamp_min(0) * (samples / max(1, samples - 1))
    mean_f = mean.float()
    return MCPrediction(mean_f, var.sqrt().float(), predictive_entropy(mean_f) if entropy else None, samples)
