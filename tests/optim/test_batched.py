"""Every batched rule, member by member, against the single-model torch.optim (or FTRL) optimizer."""

from __future__ import annotations

import pytest
import torch

from deepfit.errors import ConfigError
from deepfit.optim import OPTIMIZERS, build_optimizer
from deepfit.optim.batched import (
    apply_update_,
    coefficient_tables,
    resolve_hyperparameters,
    rule_for,
    stack_hyperparameters,
)

SHAPES = [(6, 5), (6,), (3, 6), (3,)]
STEPS = 25

# Three members per optimizer, each with its own hyperparameters (torch names, as a config gives them).
MEMBERS = {
    "sgd": [{"lr": 0.1}, {"lr": 0.05, "momentum": 0.5, "dampening": 0.2}, {"lr": 0.02, "momentum": 0.9,
                                                                           "weight_decay": 0.01}],
    "momentum": [{}, {"momentum": 0.5}, {"lr": 0.05, "weight_decay": 1e-3}],
    "nesterov": [{}, {"momentum": 0.8, "weight_decay": 1e-3}, {"lr": 0.02}],
    "adagrad": [{}, {"lr_decay": 0.01, "initial_accumulator_value": 0.1}, {"weight_decay": 0.01, "eps": 1e-6}],
    "rmsprop": [{}, {"momentum": 0.9}, {"rho": 0.9, "weight_decay": 0.01, "lr": 0.003}],
    "adam": [{}, {"betas": [0.8, 0.99]}, {"weight_decay": 0.01, "eps": 1e-6, "lr": 0.01}],
    "adamw": [{}, {"weight_decay": 0.1}, {"betas": [0.5, 0.9], "lr": 0.01}],
    "adamax": [{}, {"betas": [0.8, 0.99]}, {"weight_decay": 0.01, "lr": 0.01}],
    "nadam": [{}, {"momentum_decay": 0.01}, {"weight_decay": 0.01, "betas": [0.8, 0.99]}],
    "keras_sgd": [{"lr": 0.1}, {"lr": 0.05, "momentum": 0.5}, {"momentum": 0.9, "weight_decay": 0.01}],
    "keras_rmsprop": [{}, {"momentum": 0.9, "lr": 0.01}, {"rho": 0.8, "weight_decay": 0.01, "eps": 1e-3}],
    "keras_adagrad": [{"lr": 0.01}, {"initial_accumulator_value": 0.5}, {"weight_decay": 0.01, "eps": 1e-3}],
    "keras_adam": [{}, {"betas": [0.8, 0.99]}, {"weight_decay": 0.01, "eps": 1e-3, "lr": 0.01}],
    "keras_adamw": [{}, {"weight_decay": 0.1}, {"betas": [0.5, 0.9], "lr": 0.01}],
    "keras_adamax": [{}, {"betas": [0.8, 0.99]}, {"weight_decay": 0.01, "lr": 0.01}],
    "keras_nadam": [{}, {"betas": [0.8, 0.99]}, {"weight_decay": 0.01, "eps": 1e-3, "lr": 0.01}],
    "ftrl": [{"lr": 0.1}, {"lr": 0.05, "l1": 0.01, "l2": 0.01}, {"lr": 0.2, "lr_power": -0.3, "l2_shrinkage": 0.01}],
}
# Settings that must agree between members, each tried once.
FLAGGED = [
    ("rmsprop", {"centered": True}),
    ("adam", {"amsgrad": True}),
    ("adamw", {"amsgrad": True}),
    ("nadam", {"decoupled_weight_decay": True, "weight_decay": 0.05}),
    ("sgd", {"nesterov": True, "momentum": 0.7}),
    ("keras_sgd", {"nesterov": True, "momentum": 0.7}),
    ("keras_rmsprop", {"centered": True, "momentum": 0.5}),
    ("keras_adam", {"amsgrad": True}),
]


def _loss(tensors: list[torch.Tensor], k: int) -> torch.Tensor:
    """A smooth non-quadratic loss whose gradient changes with every step (different for each member)."""
    return sum(((t - 0.3 * (k + 1)) ** 2).sum() + torch.sin(3 * t).sum() for t in tensors)


def _initial(k: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(k)
    return [torch.randn(s, generator=g) for s in SHAPES]


def _torch_run(name: str, params: dict, k: int) -> list[torch.Tensor]:
    ps = [torch.nn.Parameter(t.clone()) for t in _initial(k)]
    opt = build_optimizer(name, ps, **params)
    for _ in range(STEPS):
        opt.zero_grad()
        _loss(ps, k).backward()
        opt.step()
    return [p.detach() for p in ps]


def _batched_run(name: str, members: list[dict], window: int = 7) -> torch.Tensor:
    """The rule over STEPS steps, its coefficient tables computed `window` steps at a time (as epochs do)."""
    rule, hyper, flags = stack_hyperparameters(name, members)
    flat = torch.stack([torch.cat([t.flatten() for t in _initial(k)]) for k in range(len(members))])  # (K, N)
    state, carry = rule.init_state(flat, hyper, flags), {}
    lr = hyper["lr"].expand(-1, STEPS)  # (K, steps): constant
    for step in range(STEPS):
        if step % window == 0:
            tables = coefficient_tables(rule, hyper, flags, lr[:, step : step + window], step + 1, carry)
        leaf = flat.clone().requires_grad_()
        views, off = [], 0
        for s in SHAPES:
            n = torch.Size(s).numel()
            views.append(leaf[:, off : off + n].view(len(members), *s))
            off += n
        total = sum(_loss([v[k] for v in views], k) for k in range(len(members)))
        (grad,) = torch.autograd.grad(total, leaf)
        column = {k: v[:, step % window : step % window + 1] for k, v in tables.items()}  # (K, 1) each
        with torch.no_grad():
            apply_update_(flat, rule.update(flat, grad, state, column, flags))
    return flat


def _flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.flatten() for t in tensors])


@pytest.mark.parametrize("name", sorted(MEMBERS))
def test_batched_rule_matches_torch_member_by_member(name):
    members = MEMBERS[name]
    got = _batched_run(name, members)
    for k, params in enumerate(members):
        start, want = _flat(_initial(k)), _flat(_torch_run(name, params, k))
        torch.testing.assert_close(got[k], want, rtol=1e-5, atol=1e-5, msg=f"{name} member {k} ({params})")
        # the displacement too, so that a small error in a small step cannot hide in the weights' size
        moved = want - start
        assert moved.abs().max() > 1e-3
        torch.testing.assert_close(got[k] - start, moved, rtol=1e-4, atol=1e-6, msg=f"{name} member {k}")


@pytest.mark.parametrize(("name", "flag"), FLAGGED, ids=[f"{n}-{next(iter(f))}" for n, f in FLAGGED])
def test_batched_rule_matches_torch_with_each_flag(name, flag):
    members = [{**flag}, {**flag, "lr": 0.003}]
    got = _batched_run(name, members)
    for k, params in enumerate(members):
        start, want = _flat(_initial(k)), _flat(_torch_run(name, params, k))
        torch.testing.assert_close(got[k], want, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(got[k] - start, want - start, rtol=1e-4, atol=1e-6)


def test_every_registry_optimizer_has_a_batched_rule():
    for name in OPTIMIZERS.names():
        rule = rule_for(name)
        assert set(rule.numeric) >= {"lr"}, name
        assert name in MEMBERS, f"{name} has no member-by-member test above"


def test_defaults_come_from_the_registry_and_torch():
    assert resolve_hyperparameters("sgd", {})["lr"] == 0.01  # the registry's default
    assert resolve_hyperparameters("adamax", {})["lr"] == 0.002
    assert resolve_hyperparameters("adam", {"betas": [0.8, 0.9]})["beta1"] == 0.8
    assert resolve_hyperparameters("adamw", {})["weight_decay"] == 0.01  # torch's AdamW default


def test_members_with_different_flags_cannot_share_a_rule():
    with pytest.raises(ConfigError, match="members differ in nesterov"):
        stack_hyperparameters("sgd", [{"momentum": 0.9, "nesterov": True}, {"momentum": 0.9}])


def test_bad_hyperparameters_fail_as_the_single_optimizer_does():
    with pytest.raises(ConfigError, match="lr must be > 0"):
        stack_hyperparameters("adam", [{}, {"lr": -1.0}])
    with pytest.raises(ConfigError, match="maximize"):
        resolve_hyperparameters("adam", {"maximize": True})


def test_inactive_members_keep_their_weights_exactly_even_with_nan_state():
    rule, hyper, flags = stack_hyperparameters("adam", [{}, {}])
    p = torch.randn(2, 7)
    state = rule.init_state(p, hyper, flags)
    state["exp_avg"][1] = float("nan")  # a member that diverged earlier
    before = p.clone()
    active = torch.tensor([[True], [False]])
    c = coefficient_tables(rule, hyper, flags, hyper["lr"], 1, {})
    apply_update_(p, rule.update(p, torch.ones(2, 7), state, c, flags), active)
    assert torch.equal(p[1], before[1])
    assert not torch.equal(p[0], before[0])


def test_a_momentum_schedule_sets_beta1_step_by_step_as_torch_does():
    """1cycle writes beta1 into torch's param group before each step; the table does the same per column."""
    betas = [0.95 - 0.01 * i for i in range(STEPS)]
    ps = [torch.nn.Parameter(t.clone()) for t in _initial(0)]
    opt = build_optimizer("nadam", ps, lr=0.01)
    for b1 in betas:
        opt.param_groups[0]["betas"] = (b1, 0.999)
        opt.zero_grad()
        _loss(ps, 0).backward()
        opt.step()
    rule, hyper, flags = stack_hyperparameters("nadam", [{"lr": 0.01}])
    flat = torch.cat([t.flatten() for t in _initial(0)]).unsqueeze(0)
    state = rule.init_state(flat, hyper, flags)
    lr, mom = hyper["lr"].expand(-1, STEPS), torch.tensor([betas], dtype=torch.float64)
    tables = coefficient_tables(rule, hyper, flags, lr, 1, {}, momentum=mom)
    for step in range(STEPS):
        leaf = flat.clone().requires_grad_()
        views, off = [], 0
        for s in SHAPES:
            n = torch.Size(s).numel()
            views.append(leaf[0, off : off + n].view(s))
            off += n
        (grad,) = torch.autograd.grad(_loss(views, 0), leaf)
        with torch.no_grad():
            apply_update_(flat, rule.update(flat, grad, state, {k: v[:, step : step + 1] for k, v in tables.items()},
                                            flags))
    torch.testing.assert_close(flat[0], _flat([p.detach() for p in ps]), rtol=1e-5, atol=1e-6)
