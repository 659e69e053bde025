"""When the Trainer reports progress inside an epoch: every N steps, with N re-measured at each report so
that reports come about `period_s` apart, whatever a step costs.

The clock is read on the host at reports only; between them the loop does one integer comparison per step,
so a fast step (a captured graph) pays nothing for the pacing and a slow one is still reported on time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

_GROWTH = 4  # at most x4 per report: host time runs ahead of an unsynchronised device, so an estimate may be low


class StepPacer:
    """Gives the step of the next report, from the host time the steps since the last one took.

    ```
    per_step = (now - last_report_time) / (step - last_report_step)
    interval = clamp(round(period_s / per_step), 1, GROWTH * interval)
    ```
    The first report comes after the epoch's first step, so a slow epoch shows progress at once.
    """

    def __init__(self, period_s: float = 0.25, clock: Callable[[], float] = time.monotonic) -> None:
        if period_s <= 0:
            raise ValueError(f"period_s must be > 0, got {period_s}")
        self.period_s, self.clock = period_s, clock
        self.interval = 1
        self._time, self._step = 0.0, 0

    def start(self) -> int:
        """Begin an epoch; returns the step (1-based, within the epoch) of its first report."""
        self._time, self._step = self.clock(), 0
        return 1

    def next(self, step: int) -> int:
        """Called at the report after `step` steps of the epoch; returns the step of the next report."""
        now = self.clock()
        elapsed, steps = now - self._time, step - self._step
        self._time, self._step = now, step
        if steps > 0:
            wanted = self.period_s * steps / elapsed if elapsed > 0 else self.interval * _GROWTH
            self.interval = max(1, min(round(wanted), self.interval * _GROWTH))
        return step + self.interval
