"""FTRL-Proximal (McMahan et al., 2013) as a `torch.optim.Optimizer`; torch has none.

The update follows TensorFlow/Keras `Ftrl` coordinate by coordinate, so weights trained here and there agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from deepfit.errors import ConfigError

Tensor = torch.Tensor


def ftrl_update_(
    param: Tensor,
    grad: Tensor,
    state: dict[str, Tensor],
    *,
    lr: float,
    lr_power: float,
    l1: float,
    l2: float,
    l2_shrinkage: float,
) -> None:
    """One FTRL-Proximal step on `param` in place, updating `state["accumulator"]` and `state["linear"]`.

    Per coordinate, with n the accumulator, z the linear term and p = lr_power (Keras `Ftrl.update_step`):
    ```
    g_s    = g + 2 * l2_shrinkage * w          shrinkage-type L2 enters the linear term only
    n_new  = n + g^2                           the accumulator sees the raw gradient
    sigma  = (n_new^(-p) - n^(-p)) / lr
    z      = z + g_s - sigma * w
    w      = (clip(z, -l1, l1) - z) / (n_new^(-p) / lr + 2 * l2)    exactly 0 where |z| <= l1
    n      = n_new
    ```
    """
    accum, linear = state["accumulator"], state["linear"]
    grad_s = grad.add(param, alpha=2.0 * l2_shrinkage) if l2_shrinkage else grad
    new_accum = accum + grad * grad
    new_pow, old_pow = new_accum.pow(-lr_power), accum.pow(-lr_power)
    linear.add_(grad_s - (new_pow - old_pow) / lr * param)
    quadratic = new_pow / lr + 2.0 * l2
    param.copy_((linear.clamp(-l1, l1) - linear) / quadratic)
    accum.copy_(new_accum)


class Ftrl(torch.optim.Optimizer):
    """Follow The Regularized Leader, proximal form (McMahan et al., 2013, "Ad Click Prediction", Algorithm 1).

    Suited to wide, sparse linear models: the l1 term sets weights to exactly zero. The update (see
    `ftrl_update_`) matches TensorFlow/Keras `Ftrl`; `lr_power = -0.5` gives the paper's per-coordinate
    rate lr / sqrt(n), and 0 a fixed rate.

    Args:
        lr: learning rate (alpha in the paper). Defaults to 1e-3, as Keras.
        lr_power: how the per-coordinate rate shrinks with the accumulated squared gradient, <= 0.
        initial_accumulator_value: starting value of n, >= 0 (Keras's 0.1 keeps the first step finite).
        l1, l2: online L1/L2 regularisation strengths (lambda_1, lambda_2), >= 0.
        l2_shrinkage: L2 added to the loss (shrinks the gradient towards zero weights), >= 0.

    Raises:
        ConfigError: a hyperparameter is out of range; the message names it.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        lr_power: float = -0.5,
        initial_accumulator_value: float = 0.1,
        l1: float = 0.0,
        l2: float = 0.0,
        l2_shrinkage: float = 0.0,
    ) -> None:
        checks = {
            "lr": (lr, lr > 0, "> 0"),
            "lr_power": (lr_power, lr_power <= 0, "<= 0"),
            "initial_accumulator_value": (initial_accumulator_value, initial_accumulator_value >= 0, ">= 0"),
            "l1": (l1, l1 >= 0, ">= 0"),
            "l2": (l2, l2 >= 0, ">= 0"),
            "l2_shrinkage": (l2_shrinkage, l2_shrinkage >= 0, ">= 0"),
        }
        for name, (value, ok, expected) in checks.items():
            if not ok:
                raise ConfigError(f"optimizer 'ftrl': {name} must be {expected}, got {value}")
        if lr_power < 0 and initial_accumulator_value == 0:
            raise ConfigError(
                "optimizer 'ftrl': initial_accumulator_value must be > 0 when lr_power < 0 (0 ** negative is inf)"
            )
        defaults = dict(
            lr=lr,
            lr_power=lr_power,
            initial_accumulator_value=initial_accumulator_value,
            l1=l1,
            l2=l2,
            l2_shrinkage=l2_shrinkage,
        )
        super().__init__(params, defaults)

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
                if p.grad.is_sparse:
                    raise RuntimeError("Ftrl does not support sparse gradients")
                state = self.state[p]
                if not state:
                    # n: running sum of squared gradients, per coordinate, from initial_accumulator_value
                    state["accumulator"] = torch.full_like(p, group["initial_accumulator_value"])
                    # z: the linear term, gradients minus the sigma-weighted weights
                    state["linear"] = torch.zeros_like(p)
                ftrl_update_(
                    p,
                    p.grad,
                    state,
                    lr=group["lr"],
                    lr_power=group["lr_power"],
                    l1=group["l1"],
                    l2=group["l2"],
                    l2_shrinkage=group["l2_shrinkage"],
                )
        return loss
