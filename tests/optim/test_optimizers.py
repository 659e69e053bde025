"""Every optimizer: three steps on a fixed quadratic against its update equations, written out by hand."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from deepfit.errors import ConfigError
from deepfit.optim import OPTIMIZERS, build_optimizer

# f(w) = 0.5 * A * w^2 per coordinate, so g = A * w; w0 = 1 and lr = 0.1 for every test below.
A, W0, LR, STEPS = 2.0, 1.0, 0.1, 3


def _torch_path(name: str, **kw) -> list[float]:
    w = torch.nn.Parameter(torch.tensor([W0], dtype=torch.float64))
    opt = build_optimizer(name, [w], lr=LR, **kw)
    out = []
    for _ in range(STEPS):
        opt.zero_grad()
        (0.5 * A * w**2).sum().backward()
        opt.step()
        out.append(float(w.detach()))
    return out


def _hand_path(update) -> list[float]:
    """Run `update(w, g, t, state) -> w` for STEPS steps in plain Python floats."""
    w, state, out = W0, {}, []
    for t in range(1, STEPS + 1):
        w = update(w, A * w, t, state)
        out.append(w)
    return out


def test_sgd_first_steps_are_w_minus_lr_g():
    # w1 = 1 - 0.1 * 2 = 0.8, w2 = 0.8 * 0.8 = 0.64, w3 = 0.512
    assert _torch_path("sgd") == pytest.approx([0.8, 0.64, 0.512], abs=1e-12)


def test_momentum_accumulates_velocity():
    # v1 = 2, w1 = 0.8; v2 = 0.9*2 + 1.6 = 3.4, w2 = 0.46; v3 = 3.06 + 0.92 = 3.98, w3 = 0.062
    assert _torch_path("momentum") == pytest.approx([0.8, 0.46, 0.062], abs=1e-12)


def test_nesterov_steps_with_the_look_ahead_gradient():
    def update(w, g, t, s):
        s["v"] = 0.9 * s.get("v", 0.0) + g  # torch's form of v <- mu v - lr grad(w + mu v) (Sutskever 2013)
        return w - LR * (g + 0.9 * s["v"])

    # by hand, step 1: v = 2, w1 = 1 - 0.1 * (2 + 1.8) = 0.62
    got = _torch_path("nesterov")
    assert got[0] == pytest.approx(0.62, abs=1e-12)
    assert got == pytest.approx(_hand_path(update), abs=1e-12)


def test_adagrad_divides_by_the_root_of_the_accumulated_squares():
    def update(w, g, t, s):
        s["n"] = s.get("n", 0.0) + g * g
        return w - LR * g / (math.sqrt(s["n"]) + 1e-10)

    # step 1: n = 4, w1 = 1 - 0.1 * 2 / 2 = 0.9 (the first AdaGrad step is lr * sign(g))
    got = _torch_path("adagrad")
    assert got[0] == pytest.approx(0.9, abs=1e-9)
    assert got == pytest.approx(_hand_path(update), abs=1e-12)


@pytest.mark.parametrize("rho", [0.9, 0.99])
def test_rmsprop_decays_the_squared_gradient_average(rho):
    def update(w, g, t, s):
        s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
        return w - LR * g / (math.sqrt(s["v"]) + 1e-8)

    got = _torch_path("rmsprop", rho=rho)
    # step 1: v = (1 - rho) * 4, w1 = 1 - 0.1 / sqrt(1 - rho)
    assert got[0] == pytest.approx(1 - LR / math.sqrt(1 - rho), abs=1e-7)
    assert got == pytest.approx(_hand_path(update), abs=1e-12)


def _adam(w, g, t, s, b1=0.9, b2=0.999, eps=1e-8):
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    m_hat, v_hat = s["m"] / (1 - b1**t), s["v"] / (1 - b2**t)
    return w - LR * m_hat / (math.sqrt(v_hat) + eps)


def test_adam_bias_correction_makes_the_first_step_lr():
    got = _torch_path("adam")
    assert got[0] == pytest.approx(1 - LR, abs=1e-7)  # m_hat / sqrt(v_hat) = g / |g| at t = 1
    assert got == pytest.approx(_hand_path(_adam), abs=1e-12)


def test_adam_takes_keras_betas():
    got = _torch_path("adam", betas=(0.5, 0.9))
    assert got == pytest.approx(_hand_path(lambda w, g, t, s: _adam(w, g, t, s, b1=0.5, b2=0.9)), abs=1e-12)


def test_adamax_divides_by_the_infinity_norm():
    def update(w, g, t, s, b1=0.9, b2=0.999, eps=1e-8):
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["u"] = max(b2 * s.get("u", 0.0), abs(g) + eps)
        return w - LR / (1 - b1**t) * s["m"] / s["u"]

    got = _torch_path("adamax")
    assert got[0] == pytest.approx(1 - LR, abs=1e-7)
    assert got == pytest.approx(_hand_path(update), abs=1e-12)


def test_nadam_uses_the_momentum_schedule_of_dozat():
    def update(w, g, t, s, b1=0.9, b2=0.999, eps=1e-8, psi=4e-3):
        mu_t = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        s["prod"] = s.get("prod", 1.0) * mu_t
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        denom = math.sqrt(s["v"] / (1 - b2**t)) + eps
        w = w - LR * (1 - mu_t) / (1 - s["prod"]) * g / denom
        return w - LR * mu_next / (1 - s["prod"] * mu_next) * s["m"] / denom

    # torch keeps the product of the mu_t in a float32 scalar, hence 1e-8 rather than 1e-12
    assert _torch_path("nadam") == pytest.approx(_hand_path(update), abs=1e-8)
    assert _torch_path("nadam") != pytest.approx(_hand_path(_adam), abs=1e-4)


def test_adamw_decays_weights_outside_the_adaptive_step():
    def update(w, g, t, s):
        return _adam(w * (1 - LR * 0.1), g, t, s)  # decoupled: w <- w - lr * wd * w, then Adam with g(w_old)

    got = _torch_path("adamw", weight_decay=0.1)
    assert got == pytest.approx(_hand_path(update), abs=1e-12)
    assert got != pytest.approx(_torch_path("adam"), abs=1e-6)


# Contract tests over every registry entry.


def _problem():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(8, 4, generator=g)
    b = torch.randn(8, generator=g)
    return a, b


def _loss(w, a, b):
    return ((a @ w - b) ** 2).mean()


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_optimizer_lowers_loss_on_quadratic(name):
    a, b = _problem()
    w = torch.nn.Parameter(torch.zeros(4))
    opt = build_optimizer(name, [w], lr=0.05)
    start = float(_loss(w, a, b).detach())
    for _ in range(100):
        opt.zero_grad()
        _loss(w, a, b).backward()
        opt.step()
    assert float(_loss(w, a, b).detach()) < 0.8 * start


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_optimizer_state_dict_round_trip_steps_identically(name):
    a, b = _problem()
    w1 = torch.nn.Parameter(torch.full((4,), 0.3))
    opt1 = build_optimizer(name, [w1], lr=0.05)

    def run(w, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            _loss(w, a, b).backward()
            opt.step()

    run(w1, opt1, 3)
    w2 = torch.nn.Parameter(w1.detach().clone())
    opt2 = build_optimizer(name, [w2], lr=0.05)
    opt2.load_state_dict(copy.deepcopy(opt1.state_dict()))
    run(w1, opt1, 3)
    run(w2, opt2, 3)
    assert torch.equal(w1.detach(), w2.detach())
    assert opt1.state_dict()["state"].keys() == opt2.state_dict()["state"].keys()


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("nadm", {}, "did you mean 'nadam'"),
        ("adam", {"lr": 0.0}, "lr must be > 0, got 0.0"),
        ("sgd", {"lr": -1.0}, "lr must be > 0"),
        ("adam", {"betas": (0.9, 1.0)}, r"betas must be two numbers in \[0, 1\)"),
        ("nadam", {"betas": (-0.1, 0.9)}, "betas must be"),
        ("sgd", {"momentum": 1.5}, "momentum must be in"),
        ("rmsprop", {"rho": 0.9, "alpha": 0.9}, "either rho or alpha"),
        ("adam", {"rho": 0.9}, "Valid parameters"),
        ("ftrl", {"lr_power": 0.5}, "lr_power must be <= 0, got 0.5"),
        ("ftrl", {"l1": -1.0}, "l1 must be >= 0"),
    ],
)
def test_bad_optimizer_input_names_the_field(name, kwargs, message):
    w = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(ConfigError, match=message):
        build_optimizer(name, [w], **kwargs)


def test_keras_spellings_are_normalised_at_the_config_edge():
    from deepfit.config import OptimConfig

    cfg = OptimConfig(name="rmsprop", learning_rate=0.01, rho=0.9, epsilon=1e-7)
    assert cfg.params() == {"rho": 0.9, "eps": 1e-7, "lr": 0.01}
    opt = build_optimizer(cfg.name, [torch.nn.Parameter(torch.zeros(1))], **cfg.params())
    assert opt.param_groups[0]["alpha"] == 0.9
    cfg = OptimConfig(name="adam", beta_1=0.8, beta_2=0.95)
    assert cfg.params()["betas"] == [0.8, 0.95]
    cfg = OptimConfig(name="ftrl", learning_rate_power=-0.3)
    assert cfg.params()["lr_power"] == -0.3
