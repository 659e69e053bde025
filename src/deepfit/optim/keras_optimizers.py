"""Keras 3's optimizers by name (`keras_sgd`, `keras_adam`, ...), each with Keras's defaults in its signature.

The Keras convention (docs/keras-convention.md) picks these for the chapter's optimizers. The maths is in
one place, the rules of `optim.keras_rules`: the engine runs them for K members at once, and `KerasOptimizer`
steps a single model's parameters with the same rule (each parameter as one row), so the two cannot drift.
Hyperparameters keep torch's names (`lr`, `betas`, `eps`, `alpha`; `rho` is accepted for RMSprop).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import deepfit.optim.keras_rules  # noqa: F401  (registers the rules this module's optimizers step with)
from deepfit.errors import ConfigError
from deepfit.optim.batched import BATCHED_RULES, coefficient_tables
from deepfit.optim.optimizers import OPTIMIZERS, Params, _check

Tensor = torch.Tensor


class KerasOptimizer(torch.optim.Optimizer):
    """A torch optimizer that steps each parameter with the batched Keras rule `rule` (see the module docstring).

    `defaults` are the hyperparameters as torch names them (`betas` as a pair); the rule's flags
    (`nesterov`, `centered`, `amsgrad`) are among them.
    """

    def __init__(self, params: Params, rule: str, defaults: dict[str, Any]) -> None:
        self.rule = BATCHED_RULES[rule]
        super().__init__(params, defaults)

    def _numbers(self, group: dict[str, Any], like: Tensor) -> tuple[dict[str, Tensor], dict[str, bool]]:
        values = dict(group)
        if "betas" in values:
            values["beta1"], values["beta2"] = values.pop("betas")
        hyper = {name: torch.tensor([[float(values[name])]], dtype=torch.float64, device=like.device)  # (1, 1)
                 for name in self.rule.numeric if name != "weight_decay" or values.get(name)}
        return hyper, {name: bool(values[name]) for name in self.rule.flags}

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                hyper, flags = self._numbers(group, p)
                row, grad = p.view(1, -1), p.grad.reshape(1, -1)  # (1, N): one member of the batched rule
                state = self.state[p]
                if not state:
                    state.update(step=0, carry={}, slots=self.rule.init_state(row, hyper, flags))
                state["step"] += 1
                c = coefficient_tables(self.rule, hyper, flags, hyper["lr"], state["step"], state["carry"],
                                       dtype=p.dtype)
                p.copy_(self.rule.update(row, grad, state["slots"], c, flags).view_as(p))
        return loss


def _in_unit(name: str, **values: float) -> None:
    for key, value in values.items():
        if not 0 <= value < 1:
            raise ConfigError(f"optimizer {name!r}: {key} must be in [0, 1), got {value}")


def _positive_eps(name: str, eps: float) -> None:
    if not eps > 0:
        raise ConfigError(f"optimizer {name!r}: eps must be > 0, got {eps}")


@OPTIMIZERS.register("keras_sgd", summary="Keras's SGD: v = mu v - lr g, w += v (each step keeps its lr)")
def keras_sgd(params: Params, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
              weight_decay: float = 0.0) -> KerasOptimizer:
    _check("keras_sgd", lr)
    _in_unit("keras_sgd", momentum=momentum)
    return KerasOptimizer(params, "keras_sgd", dict(lr=lr, momentum=momentum, nesterov=nesterov,
                                                    weight_decay=weight_decay))


@OPTIMIZERS.register("keras_rmsprop", summary="Keras's RMSprop: lr g / sqrt(v + eps), rho 0.9, eps 1e-7")
def keras_rmsprop(params: Params, lr: float = 1e-3, rho: float | None = None, alpha: float = 0.9,
                  momentum: float = 0.0, eps: float = 1e-7, centered: bool = False,
                  weight_decay: float = 0.0) -> KerasOptimizer:
    """Keras `RMSprop`; `rho` (Keras's name) and `alpha` (torch's) are one parameter, default 0.9."""
    _check("keras_rmsprop", lr)
    alpha = alpha if rho is None else rho
    _in_unit("keras_rmsprop", alpha=alpha, momentum=momentum)
    _positive_eps("keras_rmsprop", eps)
    return KerasOptimizer(params, "keras_rmsprop", dict(lr=lr, alpha=alpha, momentum=momentum, eps=eps,
                                                        centered=centered, weight_decay=weight_decay))


@OPTIMIZERS.register("keras_adagrad", summary="Keras's Adagrad: lr g / sqrt(n + eps), n from 0.1, eps 1e-7")
def keras_adagrad(params: Params, lr: float = 1e-3, initial_accumulator_value: float = 0.1, eps: float = 1e-7,
                  weight_decay: float = 0.0) -> KerasOptimizer:
    _check("keras_adagrad", lr)
    _positive_eps("keras_adagrad", eps)
    if initial_accumulator_value < 0:
        raise ConfigError(f"optimizer 'keras_adagrad': initial_accumulator_value must be >= 0, "
                          f"got {initial_accumulator_value}")
    return KerasOptimizer(params, "keras_adagrad", dict(lr=lr, initial_accumulator_value=initial_accumulator_value,
                                                        eps=eps, weight_decay=weight_decay))


def _adam_family(name: str, summary: str, *, weight_decay: float, amsgrad: bool) -> None:
    def constructor(params: Params, lr: float = 1e-3, betas: Any = (0.9, 0.999), eps: float = 1e-7,
                    weight_decay: float = weight_decay, **flags: bool) -> KerasOptimizer:
        _check(name, lr, betas)
        _positive_eps(name, eps)
        unknown = set(flags) - ({"amsgrad"} if amsgrad else set())
        if unknown:
            raise ConfigError(f"optimizer {name!r}: unknown parameter(s) {sorted(unknown)}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        return KerasOptimizer(params, name, {**defaults, **({"amsgrad": flags.get("amsgrad", False)} if amsgrad
                                                            else {})})

    constructor.__name__ = name
    OPTIMIZERS.add(name, constructor, summary=summary)


_adam_family("keras_adam", "Keras's Adam: epsilon hat, lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)",
             weight_decay=0.0, amsgrad=True)
_adam_family("keras_adamw", "Keras's AdamW: keras_adam with decoupled weight decay 0.004", weight_decay=0.004,
             amsgrad=True)
_adam_family("keras_adamax", "Keras's Adamax: lr m / ((1 - b1^t) (max(b2 u, |g|) + eps))", weight_decay=0.0,
             amsgrad=False)
_adam_family("keras_nadam", "Keras's Nadam: momentum schedule b1 (1 - 0.96^t / 2), eps 1e-7", weight_decay=0.0,
             amsgrad=False)
