"""Optimizers by name: torch.optim under the field's names (FTRL, which torch lacks, lives in ftrl.py).

Hyperparameters use torch's names (`lr`, `momentum`, `nesterov`, `betas`, `eps`, `weight_decay`); their
defaults are torch's, except where an entry pins the textbook's (e.g. `momentum` = SGD with 0.9).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from deepfit import names
from deepfit.errors import ConfigError
from deepfit.optim.ftrl import Ftrl
from deepfit.registry import Registry

OPTIMIZERS: Registry[torch.optim.Optimizer] = Registry(names.OPTIMIZERS)
Params = Iterable[torch.Tensor] | Iterable[dict[str, Any]]


def _check(name: str, lr: float, betas: Any = None) -> None:
    if not lr > 0:
        raise ConfigError(f"optimizer {name!r}: lr must be > 0, got {lr}")
    if betas is not None and (len(betas) != 2 or not all(0 <= b < 1 for b in betas)):
        raise ConfigError(f"optimizer {name!r}: betas must be two numbers in [0, 1), got {list(betas)}")


@OPTIMIZERS.register("sgd", summary="plain gradient descent; momentum and nesterov optional")
def sgd(params: Params, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False, **kw: Any):
    _check("sgd", lr)
    if not 0 <= momentum < 1:
        raise ConfigError(f"optimizer 'sgd': momentum must be in [0, 1), got {momentum}")
    return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, **kw)


@OPTIMIZERS.register("momentum", summary="SGD with momentum 0.9 (Polyak 1964)")
def momentum(params: Params, lr: float = 0.01, momentum: float = 0.9, **kw: Any):
    return sgd(params, lr=lr, momentum=momentum, **kw)


@OPTIMIZERS.register("nesterov", summary="SGD with Nesterov momentum 0.9 (Nesterov 1983)")
def nesterov(params: Params, lr: float = 0.01, momentum: float = 0.9, **kw: Any):
    return sgd(params, lr=lr, momentum=momentum, nesterov=True, **kw)


@OPTIMIZERS.register("adagrad", summary="per-parameter lr scaled by accumulated squared gradients (Duchi 2011)")
def adagrad(params: Params, lr: float = 0.01, **kw: Any):
    _check("adagrad", lr)
    return torch.optim.Adagrad(params, lr=lr, **kw)


@OPTIMIZERS.register("rmsprop", summary="AdaGrad with a decaying average of squared gradients (Hinton 2012)")
def rmsprop(params: Params, lr: float = 0.01, rho: float | None = None, **kw: Any):
    """RMSProp; `rho` is the Keras spelling of torch's `alpha` (the decay of the squared-gradient average)."""
    _check("rmsprop", lr)
    if rho is not None:
        if "alpha" in kw:
            raise ConfigError("optimizer 'rmsprop': give either rho or alpha, not both")
        kw["alpha"] = rho
    return torch.optim.RMSprop(params, lr=lr, **kw)


def _adam_family(name: str, cls: type[torch.optim.Optimizer], summary: str, default_lr: float) -> None:
    def constructor(params: Params, lr: float = default_lr, betas: Any = (0.9, 0.999), **kw: Any):
        _check(name, lr, betas)
        return cls(params, lr=lr, betas=tuple(betas), **kw)

    constructor.__name__ = name
    OPTIMIZERS.add(name, constructor, summary=summary)


_adam_family("adam", torch.optim.Adam, "momentum + RMSProp with bias correction (Kingma & Ba 2015)", 1e-3)
_adam_family("adamax", torch.optim.Adamax, "Adam with the infinity norm (Kingma & Ba 2015)", 2e-3)
_adam_family("nadam", torch.optim.NAdam, "Adam with Nesterov momentum (Dozat 2016)", 2e-3)
_adam_family("adamw", torch.optim.AdamW, "Adam with decoupled weight decay (Loshchilov & Hutter 2019)", 1e-3)


OPTIMIZERS.add("ftrl", Ftrl, summary="FTRL-Proximal: per-coordinate rates, l1 gives exact zeros (McMahan 2013)")


def build_optimizer(name: str, params: Params, **kwargs: Any) -> torch.optim.Optimizer:
    """Build optimizer `name` over `params`; an unknown name or parameter is a `ConfigError`."""
    try:
        return OPTIMIZERS.build(name, params, **kwargs)
    except (ValueError, TypeError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"optimizer {name!r}: {exc}") from None
