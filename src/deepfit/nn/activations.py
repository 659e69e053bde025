"""Activation functions by name, as modules (torch's implementations wherever torch has one).

Each constructor takes the layer width `units` first (PReLU learns one slope per unit) and its own
parameters by keyword.
"""

from __future__ import annotations

from torch import nn

from deepfit import names
from deepfit.errors import ConfigError
from deepfit.registry import Registry

ACTIVATIONS: Registry[nn.Module] = Registry(names.ACTIVATIONS)


def _simple(module: type[nn.Module], name: str, summary: str) -> None:
    def constructor(units: int) -> nn.Module:
        return module()

    constructor.__name__ = name
    ACTIVATIONS.add(name, constructor, summary=summary)


_simple(nn.ReLU, "relu", "max(0, z)")
_simple(nn.SELU, "selu", "scaled ELU; self-normalising with LeCun init, Klambauer et al. 2017")
_simple(nn.SiLU, "swish", "z * sigmoid(z), Ramachandran et al. 2017")
_simple(nn.GELU, "gelu", "z * Phi(z), Hendrycks & Gimpel 2016")
_simple(nn.Mish, "mish", "z * tanh(softplus(z)), Misra 2019")
_simple(nn.Tanh, "tanh", "hyperbolic tangent")
_simple(nn.Sigmoid, "sigmoid", "logistic function 1 / (1 + exp(-z))")
_simple(nn.Softplus, "softplus", "log(1 + exp(z))")
_simple(nn.Softsign, "softsign", "z / (1 + |z|)")
_simple(nn.Hardsigmoid, "hard_sigmoid", "relu6(z + 3) / 6, as Keras 3")
_simple(nn.Identity, "linear", "identity (no activation)")


@ACTIVATIONS.register("leaky_relu", summary="max(alpha * z, z); alpha defaults to 0.01 as PyTorch")
def leaky_relu(units: int, alpha: float = 0.01) -> nn.Module:
    if alpha < 0:
        raise ConfigError(f"activation 'leaky_relu': alpha must be >= 0, got {alpha}")
    return nn.LeakyReLU(alpha)


@ACTIVATIONS.register("rrelu", summary="leaky ReLU with a random slope in [lower, upper] while training")
def rrelu(units: int, lower: float = 1 / 8, upper: float = 1 / 3) -> nn.Module:
    """Randomized leaky ReLU (Xu et al., 2015): random slope in training, the mean slope in evaluation."""
    if not 0 <= lower <= upper:
        raise ConfigError(f"activation 'rrelu': need 0 <= lower <= upper, got lower={lower}, upper={upper}")
    return nn.RReLU(lower, upper)


@ACTIVATIONS.register("prelu", summary="leaky ReLU whose slope is learned (per unit, or shared)")
def prelu(units: int, shared: bool = False, init: float = 0.25) -> nn.Module:
    """Parametric leaky ReLU (He et al., 2015): one learned slope per unit, or one for the layer."""
    return nn.PReLU(1 if shared else units, init=init)


@ACTIVATIONS.register("elu", summary="z if z > 0 else alpha * (exp(z) - 1), Clevert et al. 2015")
def elu(units: int, alpha: float = 1.0) -> nn.Module:
    if alpha < 0:
        raise ConfigError(f"activation 'elu': alpha must be >= 0, got {alpha}")
    return nn.ELU(alpha)


def build_activation(spec: str | dict, units: int) -> nn.Module:
    """An activation module from a name or `{"name": ..., **params}` for a layer of `units` units."""
    return ACTIVATIONS.resolve(spec, units)


def activation_name(spec: str | dict) -> str:
    """Canonical name of an activation spec (for pairing it with an initializer)."""
    name = spec if isinstance(spec, str) else spec.get("name", "")
    return ACTIVATIONS.canonical(name)
