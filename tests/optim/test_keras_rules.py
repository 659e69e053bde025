"""The Keras rules (optim/keras_rules.py), stepped alone (`KerasOptimizer`) and for K members at once, against
a NumPy transcription of Keras 3's update equations (tests/oracles/keras_optimizers.py), under a changing lr."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.oracles import keras_optimizers as keras

from deepfit.optim import build_optimizer
from deepfit.optim.batched import coefficient_tables, stack_hyperparameters

STEPS = 12
# deepfit name and parameters (torch names), Keras optimizer and its arguments (Keras names); defaults are
# left out on both sides, so the test checks that deepfit's Keras defaults are Keras's.
CASES = [
    ("keras_sgd", {}, "sgd", {}),
    ("keras_sgd", {"momentum": 0.9}, "sgd", {"momentum": 0.9}),
    ("keras_sgd", {"momentum": 0.9, "nesterov": True}, "sgd", {"momentum": 0.9, "nesterov": True}),
    ("keras_rmsprop", {}, "rmsprop", {}),
    ("keras_rmsprop", {"rho": 0.8, "momentum": 0.5, "eps": 1e-3}, "rmsprop",
     {"rho": 0.8, "momentum": 0.5, "epsilon": 1e-3}),
    ("keras_rmsprop", {"centered": True, "eps": 1e-3}, "rmsprop", {"centered": True, "epsilon": 1e-3}),
    ("keras_adagrad", {}, "adagrad", {}),
    ("keras_adam", {}, "adam", {}),
    ("keras_adam", {"betas": [0.8, 0.99], "eps": 1e-2, "amsgrad": True}, "adam",
     {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-2, "amsgrad": True}),
    ("keras_adamw", {}, "adamw", {"weight_decay": 0.004}),
    ("keras_adamax", {"eps": 1e-2}, "adamax", {"epsilon": 1e-2}),
    ("keras_nadam", {}, "nadam", {}),
    ("keras_nadam", {"betas": [0.8, 0.99], "eps": 1e-2, "weight_decay": 0.01}, "nadam",
     {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-2, "weight_decay": 0.01}),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def _problem(seed: int = 0) -> tuple[np.ndarray, list[np.ndarray], list[float]]:
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=(4, 3))
    grads = [rng.normal(size=(4, 3)) * 10.0 ** rng.uniform(-3, 0) for _ in range(STEPS)]
    lrs = list(0.05 * 0.7 ** np.arange(STEPS))  # a schedule: the momentum forms differ from torch's under it
    return w0, grads, lrs


@pytest.mark.parametrize(("name", "params", "keras_name", "keras_hyper"), CASES, ids=IDS)
def test_single_optimizer_steps_as_keras(name, params, keras_name, keras_hyper):
    w0, grads, lrs = _problem()
    want = keras.run(keras_name, w0, grads, lrs, **keras_hyper)
    w = torch.nn.Parameter(torch.tensor(w0))
    opt = build_optimizer(name, [w], **params)
    for g, lr, expected in zip(grads, lrs, want, strict=True):
        opt.param_groups[0]["lr"] = lr
        w.grad = torch.tensor(g)
        opt.step()
        np.testing.assert_allclose(w.detach().numpy(), expected, rtol=1e-10, atol=1e-12)
    assert np.abs(want[-1] - w0).max() > 1e-3  # the steps moved the weights


@pytest.mark.parametrize(("name", "params", "keras_name", "keras_hyper"), CASES, ids=IDS)
def test_batched_rule_steps_each_member_as_keras(name, params, keras_name, keras_hyper):
    """Two members, the second at half the lr, their tables computed 5 steps at a time (as epochs do)."""
    w0, grads, lrs = _problem()
    rule, hyper, flags = stack_hyperparameters(name, [params, params])
    flat = torch.tensor(np.stack([w0.ravel(), w0.ravel()]))  # (K, N)
    state, carry = rule.init_state(flat, hyper, flags), {}
    lr = torch.tensor([lrs, [x / 2 for x in lrs]], dtype=torch.float64)  # (K, steps)
    for step, g in enumerate(grads):
        if step % 5 == 0:
            tables = coefficient_tables(rule, hyper, flags, lr[:, step : step + 5], step + 1, carry,
                                        dtype=torch.float64)
        column = {k: v[:, step % 5 : step % 5 + 1] for k, v in tables.items()}
        grad = torch.tensor(np.stack([g.ravel(), g.ravel()]))
        flat = rule.update(flat, grad, state, column, flags)
    for k, scale in enumerate((1.0, 0.5)):
        want = keras.run(keras_name, w0, grads, [x * scale for x in lrs], **keras_hyper)[-1]
        np.testing.assert_allclose(flat[k].numpy(), want.ravel(), rtol=1e-10, atol=1e-12)


def test_keras_rmsprop_differs_from_torchs_by_where_eps_sits():
    """Why the rule exists: with a tiny squared-gradient average, eps inside the root dominates Keras's step."""
    w0, grads, lrs = _problem()
    tiny = [g * 1e-6 for g in grads]
    keras_w = keras.run("rmsprop", w0, tiny, lrs, epsilon=1e-7)[-1]
    w = torch.nn.Parameter(torch.tensor(w0))
    opt = build_optimizer("rmsprop", [w], alpha=0.9, eps=1e-7)
    for g, lr in zip(tiny, lrs, strict=True):
        opt.param_groups[0]["lr"] = lr
        w.grad = torch.tensor(g)
        opt.step()
    assert np.abs(w.detach().numpy() - w0).max() > 10 * np.abs(keras_w - w0).max()
