import itertools

import pytest

from deepfit.train.pacing import StepPacer


class _Clock:
    """A fake monotonic clock: each step of the simulated loop advances it by `step_s`."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _reports(step_s: float, steps: int, period_s: float = 0.25) -> list[int]:
    clock = _Clock()
    pacer = StepPacer(period_s, clock=clock)
    due, out = pacer.start(), []
    for step in range(1, steps + 1):
        clock.now += step_s
        if step == due:
            out.append(step)
            due = pacer.next(step)
    return out


def test_reports_settle_to_about_four_a_second_for_a_fast_step():
    reports = _reports(step_s=0.001, steps=3000)  # 3 s of 1 ms steps
    assert reports[:5] == [1, 5, 21, 85, 335]  # the interval grows at most 4x per report, then holds at 250
    gaps = {b - a for a, b in itertools.pairwise(reports[4:])}
    assert gaps == {250}
    assert len(reports) == 4 + 11  # the ramp in the first 0.085 s, then one every 0.25 s up to 3 s


def test_a_slow_step_is_reported_after_every_step():
    assert _reports(step_s=0.5, steps=6) == [1, 2, 3, 4, 5, 6]


def test_the_interval_shrinks_at_once_when_steps_slow_down():
    clock = _Clock()
    pacer = StepPacer(0.25, clock=clock)
    pacer.start()
    pacer.interval = 250
    clock.now += 250 * 0.01  # 250 steps of 10 ms: 25 steps make a quarter second
    assert pacer.next(250) == 275


def test_period_must_be_positive():
    with pytest.raises(ValueError, match="period_s must be > 0, got 0"):
        StepPacer(0)
