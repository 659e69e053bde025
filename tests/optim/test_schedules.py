"""Schedules: each pure function of the step against the equivalent torch.optim.lr_scheduler, or by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch.optim import lr_scheduler

from deepfit.errors import ConfigError
from deepfit.optim import SCHEDULES, Plateau, ScheduleWithMomentum, build_schedule

LR0 = 0.1


def _torch_lrs(make, steps: int, lr: float = LR0, momentum: float = 0.9) -> tuple[list[float], list[float]]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=momentum)
    sched = make(opt)
    lrs, moms = [], []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    return lrs, moms


def test_constant_keeps_lr0():
    assert [build_schedule("constant", LR0)(t) for t in (0, 10, 10**6)] == [LR0] * 3


def test_power_halves_lr_after_s_steps():
    sched = build_schedule("power", LR0, s=20)
    assert sched(0) == LR0
    assert sched(20) == pytest.approx(LR0 / 2)
    assert sched(60) == pytest.approx(LR0 / 4)
    assert build_schedule("power", LR0, s=20, c=2)(20) == pytest.approx(LR0 / 4)


def test_power_matches_lambda_lr_of_the_formula():
    ours = build_schedule("power", LR0, s=7, c=0.5)
    expected, _ = _torch_lrs(lambda o: lr_scheduler.LambdaLR(o, lambda t: (1 + t / 7) ** -0.5), 40)
    assert [ours(t) for t in range(40)] == pytest.approx(expected, rel=1e-12)


def test_exponential_divides_lr_by_10_every_s_steps():
    sched = build_schedule("exponential", LR0, s=10)
    assert sched(10) == pytest.approx(LR0 / 10)
    assert sched(30) == pytest.approx(LR0 / 1000)
    expected, _ = _torch_lrs(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.1 ** (1 / 10)), 50)
    assert [sched(t) for t in range(50)] == pytest.approx(expected, rel=1e-9)


def test_exponential_defaults_to_a_tenfold_decay_over_the_run():
    assert build_schedule("exponential", LR0, total_steps=200)(200) == pytest.approx(LR0 / 10)


def test_piecewise_matches_multistep_lr():
    ours = build_schedule("piecewise", LR0, boundaries=[5, 15], values=[0.1, 0.01, 0.001])
    expected, _ = _torch_lrs(lambda o: lr_scheduler.MultiStepLR(o, milestones=[5, 15], gamma=0.1), 25)
    assert [ours(t) for t in range(25)] == pytest.approx(expected, rel=1e-12)
    assert (ours(4), ours(5), ours(14), ours(15)) == (0.1, 0.01, 0.01, 0.001)


def test_inclusive_piecewise_changes_one_step_after_each_boundary_as_keras():
    """Keras's PiecewiseConstantDecay (learning_rate_schedule.py): values[0] while step <= boundaries[0],
    values[i] while boundaries[i-1] < step <= boundaries[i], values[-1] once step > boundaries[-1]."""
    boundaries, values = [5, 15], [0.1, 0.01, 0.001]
    ours = build_schedule("piecewise", LR0, boundaries=boundaries, values=values, inclusive=True)

    def keras(step: int) -> float:
        if step <= boundaries[0]:
            return values[0]
        if step > boundaries[-1]:
            return values[-1]
        return next(v for lo, hi, v in zip(boundaries, boundaries[1:], values[1:-1], strict=False) if lo < step <= hi)

    assert [ours(t) for t in range(25)] == [keras(t) for t in range(25)]
    assert (ours(5), ours(6), ours(15), ours(16)) == (0.1, 0.01, 0.01, 0.001)


@pytest.mark.parametrize("total", [100, 37])
def test_one_cycle_matches_torch_three_phase_one_cycle(total):
    max_lr = 1.0
    ours = build_schedule("one_cycle", LR0, total_steps=total, max_lr=max_lr, pct_start=0.4, final_div_factor=100)
    expected_lr, expected_mom = _torch_lrs(
        lambda o: lr_scheduler.OneCycleLR(
            o,
            max_lr=max_lr,
            total_steps=total,
            pct_start=0.4,
            anneal_strategy="linear",
            three_phase=True,
            div_factor=max_lr / LR0,
            final_div_factor=100,
            base_momentum=0.85,
            max_momentum=0.95,
        ),
        total,
    )
    assert isinstance(ours, ScheduleWithMomentum)
    assert [ours(t) for t in range(total)] == pytest.approx(expected_lr, rel=1e-9, abs=1e-12)
    assert [ours.momentum(t) for t in range(total)] == pytest.approx(expected_mom, rel=1e-9)


def test_one_cycle_peaks_at_max_lr_and_ends_annihilated():
    sched = build_schedule("one_cycle", 0.01, total_steps=1000, max_lr=0.1)
    lrs = [sched(t) for t in range(1000)]
    assert max(lrs) == pytest.approx(0.1)
    assert lrs[-1] == pytest.approx(0.01 / 1000)
    assert lrs.index(max(lrs)) == 449  # the warm-up takes pct_start = 45% of the run
    assert sched.momentum(449) == pytest.approx(0.85) and sched.momentum(0) == pytest.approx(0.95)
    assert sched(5000) == lrs[-1]


def test_one_cycle_without_momentum_cycling_is_a_plain_schedule():
    sched = build_schedule("one_cycle", 0.01, total_steps=100, max_lr=0.1, cycle_momentum=False)
    assert not isinstance(sched, ScheduleWithMomentum)


def test_cosine_after_warmup_matches_cosine_annealing_lr():
    total, warmup = 60, 10
    ours = build_schedule("cosine", LR0, total_steps=total, warmup_steps=warmup, min_lr=0.001)
    assert [ours(t) for t in range(warmup)] == pytest.approx([LR0 * (t + 1) / warmup for t in range(warmup)])
    expected, _ = _torch_lrs(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=total - warmup, eta_min=0.001), 50)
    assert [ours(t) for t in range(warmup, total)] == pytest.approx(expected, rel=1e-9)
    assert ours(total) == pytest.approx(0.001)


def test_performance_carries_the_callback_settings():
    plateau = build_schedule("reduce_on_plateau", LR0, factor=0.5, patience=2)
    assert plateau == Plateau({"factor": 0.5, "patience": 2})


@pytest.mark.parametrize("name", [n for n in SCHEDULES.names() if n != "performance"])
def test_every_schedule_is_positive_during_the_run_and_finite_after(name):
    params = {"power": {"s": 10}, "piecewise": {"boundaries": [10], "values": [0.1, 0.01]}, "one_cycle": {"max_lr": 1}}
    sched = build_schedule(name, LR0, total_steps=50, **params.get(name, {}))
    lrs = [sched(t) for t in range(60)]
    assert all(math.isfinite(x) and x >= 0 for x in lrs)
    assert all(x > 0 for x in lrs[:50])  # every step of the run moves the weights


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("cosin", {}, "did you mean 'cosine'"),
        ("power", {"s": 0}, "'power': s must be > 0, got 0"),
        ("power", {}, r"schedule 'power' needs schedule\.s \(s, the steps after which"),
        ("one_cycle", {}, r"schedule 'one_cycle' needs schedule\.max_lr \(max_lr, the peak learning rate: about "
                          r"10x optimizer\.lr.*--set schedule\.max_lr=VALUE"),
        ("piecewise", {"values": [1]}, r"'piecewise' needs schedule\.boundaries \(boundaries, the steps"),
        ("exponential", {}, "needs the run length total_steps"),
        ("piecewise", {"boundaries": [10, 5], "values": [1, 2, 3]}, "boundaries must be >= 0 and strictly increasing"),
        ("piecewise", {"boundaries": [10], "values": [1, 2, 3]}, r"values needs len\(boundaries\) \+ 1 = 2 entries"),
        ("piecewise", {"boundaries": [10], "values": [1, 0]}, "values must all be > 0"),
        ("one_cycle", {"max_lr": 0.01, "total_steps": 10}, r"max_lr must be >= the initial lr \(0.1\), got 0.01"),
        ("one_cycle", {"max_lr": 1.0}, "one_cycle': needs the run length"),
        ("one_cycle", {"max_lr": 1.0, "total_steps": 10, "pct_start": 0.7}, "pct_start must be in"),
        ("one_cycle", {"max_lr": 1.0, "total_steps": 10, "base_momentum": 0.99}, "base_momentum <= max_momentum"),
        ("cosine", {"total_steps": 10, "warmup_steps": 10}, r"warmup_steps must be in \[0, total_steps=10\)"),
        ("cosine", {"total_steps": 10, "min_lr": 1.0}, "min_lr must be in"),
        ("exponential", {"s": 1, "gamma": 0.5}, "Valid parameters"),
    ],
)
def test_bad_schedule_input_names_the_field(name, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        build_schedule(name, LR0, **kwargs)
