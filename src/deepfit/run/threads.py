"""How many CPU threads torch uses for a run: `train.threads`, where `auto` backs off when the cores are busy.

On cores that other jobs already hold, torch's intra-op threads wait on each other: one epoch of a small run
took 46.8 s with 2 threads and 2.6 s with 1 on 2 cores at load average 5.6 (benchmarks/threads.py).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import torch

# torch's own choice, read before deepfit sets anything (reading it changes nothing).
_TORCH_DEFAULT = torch.get_num_threads()


@dataclass(frozen=True)
class ThreadChoice:
    """The thread count for a setting of `train.threads`, and the figures it was chosen from."""

    threads: int
    setting: int | str
    cores: int
    load: float
    torch_default: int

    def describe(self) -> str:
        """One line for `deepfit info`: `1 (auto: load 5.6 on 2 cores; torch's default 2)`."""
        why = f"auto: load {self.load:.1f} on {self.cores} cores" if self.setting == "auto" else "train.threads"
        return f"{self.threads} ({why}; torch's default {self.torch_default})"


def choose_threads(setting: int | str, *, cores: int, load: float, torch_default: int) -> int:
    """The thread count for `setting`: a number as given; `auto` the cores the load leaves free, from 1 to
    torch's default.

    ```
    auto = clamp(cores - round(load), 1, torch_default)
    ```
    `load` is the 1-minute load average: the number of processes running or waiting for a core.
    """
    if setting != "auto":
        return int(setting)
    return max(1, min(torch_default, cores - round(load)))


@functools.cache
def _machine() -> tuple[int, float]:
    """CPU cores this process may use and the load average, read once per process: a sweep's later runs
    would otherwise count the load of its own earlier ones."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0  # no load average (Windows): idle
    return cores, load


def thread_choice(setting: int | str) -> ThreadChoice:
    """What `setting` means on this machine now (auto: as measured at this process's first run)."""
    cores, load = _machine()
    threads = choose_threads(setting, cores=cores, load=load, torch_default=_TORCH_DEFAULT)
    return ThreadChoice(threads, setting, cores, load, _TORCH_DEFAULT)


def use_threads(setting: int | str) -> int:
    """Set torch's intra-op thread count as `setting` says and return it (for the run's metrics)."""
    threads = thread_choice(setting).threads
    torch.set_num_threads(threads)
    return threads
