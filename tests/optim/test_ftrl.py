"""FTRL-Proximal against a NumPy transcription of the Keras/TensorFlow per-coordinate update."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepfit.errors import ConfigError
from deepfit.optim.ftrl import Ftrl


def _numpy_ftrl(w, grads_of, steps, *, lr, lr_power, init, l1, l2, shrink):
    """McMahan et al. 2013, Algorithm 1 with Keras's learning_rate_power and l2_shrinkage, in float64."""
    n = np.full_like(w, init)
    z = np.zeros_like(w)
    for _ in range(steps):
        g = grads_of(w)
        g_s = g + 2 * shrink * w
        n_new = n + g**2
        sigma = (n_new ** (-lr_power) - n ** (-lr_power)) / lr
        z = z + g_s - sigma * w
        w = np.where(np.abs(z) <= l1, 0.0, (np.sign(z) * l1 - z) / (n_new ** (-lr_power) / lr + 2 * l2))
        n = n_new
    return w


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(20, 6))
    b = rng.normal(size=20)
    return a, b


@pytest.mark.parametrize(
    "hp",
    [
        dict(lr=0.1, lr_power=-0.5, init=0.1, l1=0.0, l2=0.0, shrink=0.0),
        dict(lr=0.05, lr_power=-0.5, init=0.1, l1=0.01, l2=0.1, shrink=0.0),
        dict(lr=0.2, lr_power=-0.3, init=0.5, l1=0.0, l2=0.0, shrink=0.05),
        dict(lr=0.01, lr_power=0.0, init=0.0, l1=0.001, l2=0.01, shrink=0.01),
    ],
)
def test_ftrl_matches_numpy_transcription_over_many_steps(hp):
    a, b = _problem()
    w0 = np.random.default_rng(1).normal(size=6)

    def grad(w):
        return 2 * a.T @ (a @ w - b) / len(b)

    expected = _numpy_ftrl(w0.copy(), grad, 200, **hp)
    w = torch.nn.Parameter(torch.tensor(w0))
    opt = Ftrl(
        [w],
        lr=hp["lr"],
        lr_power=hp["lr_power"],
        initial_accumulator_value=hp["init"],
        l1=hp["l1"],
        l2=hp["l2"],
        l2_shrinkage=hp["shrink"],
    )
    at, bt = torch.tensor(a), torch.tensor(b)
    for _ in range(200):
        opt.zero_grad()
        ((at @ w - bt) ** 2).mean().backward()
        opt.step()
    np.testing.assert_allclose(w.detach().numpy(), expected, rtol=1e-9, atol=1e-12)


def _fit_target(l1: float, steps: int = 300) -> torch.Tensor:
    target = torch.tensor([2.0, -2.0, 0.01, -0.01, 0.015, 0.005], dtype=torch.float64)
    w = torch.nn.Parameter(torch.zeros(6, dtype=torch.float64))
    opt = Ftrl([w], lr=0.5, l1=l1)
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (w - target) ** 2).sum().backward()
        opt.step()
    return w.detach()


def test_ftrl_l1_produces_exact_zeros():
    # At w = 0 the gradient of coordinate j is -target_j, so z_j reaches l1 = 5 only after 5 / |target_j|
    # steps: the four small targets (>= 334 steps) stay exactly 0.0 for 300 steps, the large ones do not.
    w = _fit_target(l1=5.0)
    assert torch.all(w[2:] == 0.0)
    assert torch.all(w[:2].abs() > 1.5)
    assert torch.all(_fit_target(l1=0.0) != 0.0)  # without l1 no weight is exactly zero


def test_ftrl_state_has_one_accumulator_and_one_linear_term_per_parameter():
    w = torch.nn.Parameter(torch.ones(3))
    opt = Ftrl([w], initial_accumulator_value=0.3)
    (w**2).sum().backward()
    opt.step()
    state = opt.state[w]
    assert set(state) == {"accumulator", "linear"}
    assert torch.allclose(state["accumulator"], torch.full((3,), 0.3 + 4.0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": 0.0}, "lr must be > 0, got 0.0"),
        ({"lr_power": 0.1}, "lr_power must be <= 0, got 0.1"),
        ({"initial_accumulator_value": -1.0}, "initial_accumulator_value must be >= 0"),
        ({"initial_accumulator_value": 0.0}, "initial_accumulator_value must be > 0 when lr_power < 0"),
        ({"l2": -0.1}, "l2 must be >= 0, got -0.1"),
        ({"l2_shrinkage": -0.1}, "l2_shrinkage must be >= 0"),
    ],
)
def test_ftrl_rejects_bad_hyperparameters_by_name(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Ftrl([torch.nn.Parameter(torch.zeros(1))], **kwargs)
