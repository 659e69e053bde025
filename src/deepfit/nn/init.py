"""Weight initializers by name: the Keras definitions under Keras names, PyTorch's under PyTorch names.

An initializer is a function that fills a weight tensor in place. Biases always start at zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from deepfit import names
from deepfit.errors import ConfigError
from deepfit.registry import Registry

Initializer = Callable[[torch.Tensor], torch.Tensor]
INITIALIZERS: Registry[Initializer] = Registry(names.INITIALIZERS)

# stddev of a standard normal truncated to [-2, 2]; Keras divides by it so the truncated draw keeps the
# requested variance.
_TRUNCATED_STD = 0.87962566103423978


def fans(weight: torch.Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight laid out as torch does: (out_features, in_features, *kernel)."""
    if weight.dim() < 2:
        raise ConfigError(f"initializers need a weight with >= 2 dims, got shape {tuple(weight.shape)}")
    receptive = math.prod(weight.shape[2:]) if weight.dim() > 2 else 1
    return weight.shape[1] * receptive, weight.shape[0] * receptive


@INITIALIZERS.register(
    "variance_scaling", summary="scale / fan (fan_in, fan_out or fan_avg) as variance; normal or uniform"
)
def variance_scaling(scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal") -> Initializer:
    """Keras `VarianceScaling`: draw weights with variance `scale / fan`.

    ```
    n = fan_in | fan_out | (fan_in + fan_out) / 2
    truncated_normal:   N(0, s) cut at ±2s, s = sqrt(scale / n) / 0.8796  (corrects the truncation)
    untruncated_normal: N(0, sqrt(scale / n))
    uniform:            U(-l, l), l = sqrt(3 * scale / n)
    ```
    Glorot & Bengio (2010), He et al. (2015) and LeCun et al. (1998) are special cases (Géron, ch. 11).
    """
    if scale <= 0:
        raise ConfigError(f"initializer 'variance_scaling': scale must be > 0, got {scale}")
    modes = ("fan_in", "fan_out", "fan_avg")
    if mode not in modes:
        raise ConfigError(f"initializer 'variance_scaling': mode must be one of {modes}, got {mode!r}")
    distributions = ("truncated_normal", "untruncated_normal", "normal", "uniform")
    if distribution not in distributions:
        raise ConfigError(
            f"initializer 'variance_scaling': distribution must be one of {distributions}, got {distribution!r}"
        )

    def init(weight: torch.Tensor) -> torch.Tensor:
        fan_in, fan_out = fans(weight)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / max(1.0, n)
        with torch.no_grad():
            if distribution == "uniform":
                limit = math.sqrt(3.0 * variance)
                return weight.uniform_(-limit, limit)
            if distribution == "truncated_normal":
                std = math.sqrt(variance) / _TRUNCATED_STD
                return nn.init.trunc_normal_(weight, 0.0, std, -2 * std, 2 * std)
            return weight.normal_(0.0, math.sqrt(variance))

    return init


def _scaled(scale: float, mode: str, distribution: str) -> Callable[[], Initializer]:
    return lambda: variance_scaling(scale, mode, distribution)


for _name, _scale, _mode, _dist, _summary in [
    (
        "glorot_uniform",
        1.0,
        "fan_avg",
        "uniform",
        "U(±sqrt(6 / (fan_in + fan_out))), Glorot & Bengio 2010",
    ),
    ("glorot_normal", 1.0, "fan_avg", "truncated_normal", "truncated N, var 1 / fan_avg (Keras)"),
    ("he_normal", 2.0, "fan_in", "truncated_normal", "truncated N, var 2 / fan_in (Keras), He 2015"),
    ("he_uniform", 2.0, "fan_in", "uniform", "U(±sqrt(6 / fan_in)), He et al. 2015"),
    ("lecun_normal", 1.0, "fan_in", "truncated_normal", "truncated N, var 1 / fan_in (Keras); for SELU"),
    ("lecun_uniform", 1.0, "fan_in", "uniform", "U(±sqrt(3 / fan_in)), LeCun et al. 1998"),
]:
    INITIALIZERS.add(_name, _scaled(_scale, _mode, _dist), summary=_summary)


@INITIALIZERS.register("kaiming_normal", summary="PyTorch kaiming_normal_: N(0, sqrt(2 / fan_in)), untruncated")
def kaiming_normal(mode: str = "fan_in", nonlinearity: str = "relu") -> Initializer:
    return lambda w: nn.init.kaiming_normal_(w, mode=mode, nonlinearity=nonlinearity)


@INITIALIZERS.register("kaiming_uniform", summary="PyTorch kaiming_uniform_: U(±sqrt(6 / fan_in))")
def kaiming_uniform(mode: str = "fan_in", nonlinearity: str = "relu") -> Initializer:
    return lambda w: nn.init.kaiming_uniform_(w, mode=mode, nonlinearity=nonlinearity)


@INITIALIZERS.register("xavier_normal", summary="PyTorch xavier_normal_: N(0, sqrt(2 / (fan_in + fan_out)))")
def xavier_normal(gain: float = 1.0) -> Initializer:
    return lambda w: nn.init.xavier_normal_(w, gain=gain)


@INITIALIZERS.register("xavier_uniform", summary="PyTorch xavier_uniform_ (same as glorot_uniform)")
def xavier_uniform(gain: float = 1.0) -> Initializer:
    return lambda w: nn.init.xavier_uniform_(w, gain=gain)


@INITIALIZERS.register("random_normal", summary="N(mean, stddev); Keras default stddev 0.05")
def random_normal(mean: float = 0.0, stddev: float = 0.05) -> Initializer:
    if stddev <= 0:
        raise ConfigError(f"initializer 'random_normal': stddev must be > 0, got {stddev}")
    return lambda w: nn.init.normal_(w, mean, stddev)


@INITIALIZERS.register("random_uniform", summary="U(minval, maxval); Keras default ±0.05")
def random_uniform(minval: float = -0.05, maxval: float = 0.05) -> Initializer:
    if maxval <= minval:
        raise ConfigError(f"initializer 'random_uniform': maxval must exceed minval, got {minval}, {maxval}")
    return lambda w: nn.init.uniform_(w, minval, maxval)


@INITIALIZERS.register("truncated_normal", summary="N(mean, stddev) cut at ±2 stddev; Keras default 0.05")
def truncated_normal(mean: float = 0.0, stddev: float = 0.05) -> Initializer:
    if stddev <= 0:
        raise ConfigError(f"initializer 'truncated_normal': stddev must be > 0, got {stddev}")
    return lambda w: nn.init.trunc_normal_(w, mean, stddev, mean - 2 * stddev, mean + 2 * stddev)


@INITIALIZERS.register("orthogonal", summary="a (semi-)orthogonal matrix times gain, Saxe et al. 2014")
def orthogonal(gain: float = 1.0) -> Initializer:
    return lambda w: nn.init.orthogonal_(w, gain=gain)


@INITIALIZERS.register("identity", summary="gain times the identity matrix (2-D weights only)")
def identity(gain: float = 1.0) -> Initializer:
    def init(w: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return nn.init.eye_(w).mul_(gain)

    return init


@INITIALIZERS.register("zeros", summary="all zeros")
def zeros() -> Initializer:
    return nn.init.zeros_


@INITIALIZERS.register("ones", summary="all ones")
def ones() -> Initializer:
    return nn.init.ones_


@INITIALIZERS.register("constant", summary="every weight equal to value")
def constant(value: float = 0.0) -> Initializer:
    return lambda w: nn.init.constant_(w, value)


_AUTO = {
    "selu": "lecun_normal",
    "tanh": "glorot_uniform",
    "sigmoid": "glorot_uniform",
    "linear": "glorot_uniform",
    "softsign": "glorot_uniform",
    "hard_sigmoid": "glorot_uniform",
}


def auto_initializer(activation: str) -> str:
    """The initializer that suits `activation` (Géron, ch. 11, table 11-1).

    LeCun for SELU; Glorot for tanh, sigmoid, softsign and linear; He for the ReLU family, ELU, Swish, GELU
    and everything else.
    """
    return _AUTO.get(activation, "he_normal")


def resolve_initializer(spec: str | dict | Initializer) -> Initializer:
    """An initializer from a name, a `{"name": ..., **params}` mapping, or a ready function."""
    return INITIALIZERS.resolve(spec)
