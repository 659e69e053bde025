"""Keras 3's optimizer updates in NumPy (float64), written from the `update_step` methods of
keras/src/optimizers/{sgd,rmsprop,adagrad,adam,adamax,nadam}.py and the decoupled weight decay of
`base_optimizer._apply_weight_decay` (`w -= w * weight_decay * lr`, before the step).

`run(name, w0, grads, lrs, **hyper)` takes one step per gradient, step t with learning rate `lrs[t]`, and
returns the weights after each step. Keyword names are Keras's (`rho`, `beta_1`, `epsilon`, ...).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _sgd(w, g, lr, t, s, momentum=0.0, nesterov=False):
    if momentum == 0:
        return w - lr * g
    s["m"] = s.get("m", 0 * w) * momentum - g * lr
    return w + (s["m"] * momentum - g * lr if nesterov else s["m"])


def _rmsprop(w, g, lr, t, s, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    s["velocity"] = rho * s.get("velocity", 0 * w) + (1 - rho) * g**2
    if centered:
        s["average_grad"] = rho * s.get("average_grad", 0 * w) + (1 - rho) * g
        denominator = s["velocity"] - s["average_grad"] ** 2 + epsilon
    else:
        denominator = s["velocity"] + epsilon
    increment = lr * g / np.sqrt(denominator)
    if momentum > 0:
        s["momentum"] = momentum * s.get("momentum", 0 * w) + increment
        return w - s["momentum"]
    return w - increment


def _adagrad(w, g, lr, t, s, initial_accumulator_value=0.1, epsilon=1e-7):
    s["accumulator"] = s.get("accumulator", 0 * w + initial_accumulator_value) + g**2
    return w - lr * g / np.sqrt(s["accumulator"] + epsilon)


def _adam(w, g, lr, t, s, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    s["m"] = s.get("m", 0 * w) + (g - s.get("m", 0 * w)) * (1 - beta_1)
    s["v"] = s.get("v", 0 * w) + (g**2 - s.get("v", 0 * w)) * (1 - beta_2)
    v = s["v"]
    if amsgrad:
        s["v_hat"] = v = np.maximum(s.get("v_hat", 0 * w), s["v"])
    return w - s["m"] * alpha / (np.sqrt(v) + epsilon)


def _adamax(w, g, lr, t, s, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    s["m"] = s.get("m", 0 * w) + (g - s.get("m", 0 * w)) * (1 - beta_1)
    s["u"] = np.maximum(beta_2 * s.get("u", 0 * w), np.abs(g))
    return w - lr * s["m"] / ((1 - beta_1**t) * (s["u"] + epsilon))


def _nadam(w, g, lr, t, s, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    # Keras multiplies u_product by u_t (in _backend_update_step) before the variables' update_step
    s["u_product"] = s.get("u_product", 1.0) * beta_1 * (1.0 - 0.5 * 0.96**t)
    u_t, u_t_1 = beta_1 * (1.0 - 0.5 * 0.96**t), beta_1 * (1.0 - 0.5 * 0.96 ** (t + 1))
    u_product_t_1 = s["u_product"] * u_t_1
    s["m"] = s.get("m", 0 * w) + (g - s.get("m", 0 * w)) * (1 - beta_1)
    s["v"] = s.get("v", 0 * w) + (g**2 - s.get("v", 0 * w)) * (1 - beta_2)
    m_hat = u_t_1 * s["m"] / (1 - u_product_t_1) + (1 - u_t) * g / (1 - s["u_product"])
    v_hat = s["v"] / (1 - beta_2**t)
    return w - m_hat * lr / (np.sqrt(v_hat) + epsilon)


UPDATES = {"sgd": _sgd, "rmsprop": _rmsprop, "adagrad": _adagrad, "adam": _adam, "adamw": _adam,
           "adamax": _adamax, "nadam": _nadam}


def run(name: str, w0: np.ndarray, grads: Sequence[np.ndarray], lrs: Sequence[float], weight_decay: float = 0.0,
        **hyper) -> list[np.ndarray]:
    """The weights after each of Keras optimizer `name`'s steps over the given gradients."""
    w, state, out = np.asarray(w0, dtype=np.float64), {}, []
    for t, (g, lr) in enumerate(zip(grads, lrs, strict=True), start=1):
        if weight_decay:
            w = w - w * weight_decay * lr
        w = UPDATES[name](w, np.asarray(g, dtype=np.float64), lr, t, state, **hyper)
        out.append(w)
    return out
