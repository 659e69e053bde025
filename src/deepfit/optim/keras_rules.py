"""Keras 3's update rules, for K members at once, where they differ in form from torch.optim's.

The Keras convention (docs/keras-convention.md) trains with these, so that a chapter's Keras code and its
deepfit transcription take the same steps. Each rule follows the `update_step` of its Keras optimizer
(keras/src/optimizers/*.py), with t the 1-based step (`iterations + 1`); what sets them apart from torch's:

- the learning rate multiplies each step's increment, not the accumulated velocity (SGD, RMSprop momentum),
  so a schedule never rescales past steps;
- epsilon sits inside the square root (RMSprop, AdaGrad), is "epsilon hat" (Adam), or is added after the
  infinity norm (AdaMax); Nadam's momentum schedule is 0.96^t (torch's is 0.96^(0.004 t));
- weight decay is decoupled, `w -= lr * weight_decay * w` before the step (Keras's `_apply_weight_decay`).

The tables/update split is `optim.batched`'s (see `BatchedRule`); tests/optim/test_keras_rules.py checks each
rule against a NumPy transcription of Keras's equations (tests/oracles/keras_optimizers.py).
"""

from __future__ import annotations

import torch

from deepfit.optim.batched import (
    BatchedRule,
    Carry,
    Coefficients,
    Flags,
    Hyper,
    State,
    _add,
    _chosen,
    _decay_table,
    _decayed,
    _nadam_coefficients,
)
from deepfit.optim.batched import (
    _adamax_coefficients as _torch_adamax_coefficients,
)

Tensor = torch.Tensor
_DECOUPLED: Flags = {"decoupled_weight_decay": True}  # Keras decays every optimizer's weights this way


def _decay(lr: Tensor, h: Hyper) -> Coefficients:
    return _decay_table(lr, h, _DECOUPLED)


def _zeros(*slots: str):
    def init(p: Tensor, h: Hyper, f: Flags) -> State:
        return {slot: torch.zeros_like(p) for slot in slots}

    return init


# -- SGD ----------------------------------------------------------------------------------------------------


def _sgd_coefficients(t: Tensor, lr: Tensor, h: Hyper, f: Flags, momentum: Tensor | None, carry: Carry
                      ) -> Coefficients:
    return {"lr": lr, "mu": _chosen(h, "momentum", momentum, lr), **_decay(lr, h)}


def _sgd_update(p: Tensor, g: Tensor, s: State, c: Coefficients, f: Flags) -> Tensor:
    """Keras `SGD.update_step`:
    ```
    v = mu * v - lr * g
    w = w + mu * v - lr * g   (nesterov)   else   w + v          (w - lr * g when mu = 0)
    ```
    """
    base = _decayed(p, c)
    v = s["velocity"].mul_(c["mu"]).sub_(c["lr"] * g)
    return base + c["mu"] * v - c["lr"] * g if f["nesterov"] else base + v


_add(BatchedRule("keras_sgd", ("lr", "momentum", "weight_decay"), ("nesterov",), _zeros("velocity"),
                 _sgd_coefficients, _sgd_update, "momentum"))


# -- RMSprop ------------------------------------------------------------------------------------------------


def _rmsprop_state(p: Tensor, h: Hyper, f: Flags) -> State:
    state = {"velocity": torch.zeros_like(p), "momentum": torch.zeros_like(p)}
    if f["centered"]:
        state["average_grad"] = torch.zeros_like(p)  # running mean of the gradient (centered RMSprop)
    return state


def _rmsprop_coefficients(t: Tensor, lr: Tensor, h: Hyper, f: Flags, momentum: Tensor | None, carry: Carry
                          ) -> Coefficients:
    rho = h["alpha"].expand_as(lr)
    return {"lr": lr, "rho": rho, "one_minus_rho": 1 - rho, "eps": h["eps"].expand_as(lr),
            "mu": _chosen(h, "momentum", momentum, lr), **_decay(lr, h)}


def _rmsprop_update(p: Tensor, g: Tensor, s: State, c: Coefficients, f: Flags) -> Tensor:
    """Keras `RMSprop.update_step` (rho is torch's alpha):
    ```
    v   = rho * v + (1 - rho) * g^2
    d   = v - gbar^2 + eps,  gbar = rho * gbar + (1 - rho) * g   (centered)   else   v + eps
    inc = lr * g / sqrt(d);   b = mu * b + inc;   w = w - b        (w - inc when mu = 0)
    ```
    """
    base = _decayed(p, c)
    v = s["velocity"].mul_(c["rho"]).addcmul_(c["one_minus_rho"] * g, g)
    if f["centered"]:
        gbar = s["average_grad"].lerp_(g, c["one_minus_rho"])
        denominator = v - gbar * gbar + c["eps"]
    else:
        denominator = v + c["eps"]
    b = s["momentum"].mul_(c["mu"]).add_(c["lr"] * g / denominator.sqrt())
    return base - b


_add(BatchedRule("keras_rmsprop", ("lr", "alpha", "eps", "momentum", "weight_decay"), ("centered",),
                 _rmsprop_state, _rmsprop_coefficients, _rmsprop_update, "momentum"))


# -- AdaGrad ------------------------------------------------------------------------------------------------


def _adagrad_state(p: Tensor, h: Hyper, f: Flags) -> State:
    # the sum of squared gradients, from initial_accumulator_value (Keras: 0.1)
    return {"accumulator": torch.ones_like(p) * h["initial_accumulator_value"].to(p.dtype)}


def _adagrad_coefficients(t: Tensor, lr: Tensor, h: Hyper, f: Flags, momentum: Tensor | None, carry: Carry
                          ) -> Coefficients:
    return {"lr": lr, "eps": h["eps"].expand_as(lr), **_decay(lr, h)}


def _adagrad_update(p: Tensor, g: Tensor, s: State, c: Coefficients, f: Flags) -> Tensor:
    """Keras `Adagrad.update_step`:
    ```
    n = n + g^2;   w = w - lr * g / sqrt(n + eps)
    ```
    """
    n = s["accumulator"].addcmul_(g, g)
    return _decayed(p, c) - c["lr"] * g / (n + c["eps"]).sqrt()


_add(BatchedRule("keras_adagrad", ("lr", "eps", "initial_accumulator_value", "weight_decay"), (), _adagrad_state,
                 _adagrad_coefficients, _adagrad_update))


# -- Adam, AdamW --------------------------------------------------------------------------------------------


def _adam_state(p: Tensor, h: Hyper, f: Flags) -> State:
    state = {"momentum": torch.zeros_like(p), "velocity": torch.zeros_like(p)}
    if f["amsgrad"]:
        state["velocity_hat"] = torch.zeros_like(p)  # running maximum of the velocity (AMSGrad)
    return state


def _moments(lr: Tensor, h: Hyper, momentum: Tensor | None) -> Coefficients:
    b1, b2 = _chosen(h, "beta1", momentum, lr), h["beta2"].expand_as(lr)
    return {"one_minus_beta1": 1 - b1, "beta2": b2, "one_minus_beta2": 1 - b2, "eps": h["eps"].expand_as(lr)}


def _adam_coefficients(t: Tensor, lr: Tensor, h: Hyper, f: Flags, momentum: Tensor | None, carry: Carry
                       ) -> Coefficients:
    b1 = _chosen(h, "beta1", momentum, lr)
    alpha = lr * (1 - h["beta2"] ** t).sqrt() / (1 - b1**t)
    return {**_moments(lr, h, momentum), "alpha": alpha, **_decay(lr, h)}


def _update_moments(g: Tensor, s: State, c: Coefficients) -> tuple[Tensor, Tensor]:
    m = s["momentum"].lerp_(g, c["one_minus_beta1"])
    v = s["velocity"].mul_(c["beta2"]).addcmul_(c["one_minus_beta2"] * g, g)
    return m, v


def _adam_update(p: Tensor, g: Tensor, s: State, c: Coefficients, f: Flags) -> Tensor:
    """Keras `Adam.update_step`, with epsilon as "epsilon hat" (Kingma & Ba 2015, before section 2.1):
    ```
    m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2     (v = vhat = max(vhat, v): amsgrad)
    w = w - lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)
    ```
    """
    base = _decayed(p, c)
    m, v = _update_moments(g, s, c)
    if f["amsgrad"]:
        v = torch.maximum(s["velocity_hat"], v, out=s["velocity_hat"])
    return base - c["alpha"] * m / (v.sqrt() + c["eps"])


for _name in ("keras_adam", "keras_adamw"):
    _add(BatchedRule(_name, ("lr", "beta1", "beta2", "eps", "weight_decay"), ("amsgrad",), _adam_state,
                     _adam_coefficients, _adam_update, "beta1"))


# -- AdaMax -------------------------------------------------------------------------------------------------


def _adamax_coefficients(t: Tensor, lr: Tensor, h: Hyper, f: Flags, momentum: Tensor | None, carry: Carry
                         ) -> Coefficients:
    """torch's AdaMax tables (the same scalars), with decoupled weight decay."""
    return _torch_adamax_coefficients(t, lr, h, _DECOUPLED, momentum, carry)


def _adamax_update(p: Tensor, g: Tensor, s: State, c: Coefficients, f: Flags) -> Tensor:
    """Keras `Adamax.update_step`:
    ```
    m = beta1 * m + (1 - beta1) * g;   u = max(beta2 * u, |g|)
    w = w - lr * m / ((1 - beta1^t) * (u + eps))
    ```
    """
    m = s["momentum"].lerp_(g, c["one_minus_beta1"])
    u = torch.maximum(s["norm"] * c["beta2"], g.abs(), out=s["norm"])
    return _decayed(p, c) - c["clr"] * m / (u + c["eps"])


_add(BatchedRule("keras_adamax", ("lr", "beta1", "beta2", "eps", "weight_decay"), (), _zeros("momentum", "norm"),
                 _adamax_coefficients, _adamax_update, "beta1"))


# -- Nadam --------------------------------------------------------------------------------------------------


def _nadam_keras_coefficients(t: Tensor, lr: Tensor, h: Hyper, f: Flags, momentum: Tensor | None, carry: Carry
                              ) -> Coefficients:
    """torch's NAdam tables with the momentum decay psi = 1, which is Keras's u_t = beta1 (1 - 0.5 * 0.96^t)
    (and its u_product, the same running product), and decoupled weight decay."""
    return _nadam_coefficients(t, lr, {**h, "momentum_decay": torch.ones_like(h["lr"])}, _DECOUPLED, momentum, carry)


def _nadam_update(p: Tensor, g: Tensor, s: State, c: Coefficients, f: Flags) -> Tensor:
    """Keras `Nadam.update_step` (Dozat 2016); epsilon is added after the bias correction of v:
    ```
    u_t  = beta1 * (1 - 0.5 * 0.96^t);   U_t = u_1 ... u_t
    m    = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
    mhat = u_{t+1} * m / (1 - U_t * u_{t+1}) + (1 - u_t) * g / (1 - U_t);   vhat = v / (1 - beta2^t)
    w    = w - lr * mhat / (sqrt(vhat) + eps)
    ```
    """
    base = _decayed(p, c)
    m, v = _update_moments(g, s, c)
    return base - (c["c_grad"] * g + c["c_avg"] * m) / ((v * c["inv_bc2"]).sqrt() + c["eps"])


_add(BatchedRule("keras_nadam", ("lr", "beta1", "beta2", "eps", "weight_decay"), (), _zeros("momentum", "velocity"),
                 _nadam_keras_coefficients, _nadam_update, "beta1"))
