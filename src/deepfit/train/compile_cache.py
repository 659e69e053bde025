"""What compiling a training step leaves behind for the next run: torch's caches in deepfit's cache folder,
and how long the last compile of each step shape took, for the progress line while one compiles.

torch keys its FX-graph and AOTAutograd caches by torch version, graph (the step's code), shapes and
backend, so a step of the same shapes compiles once across runs and processes; by default they live in
`/tmp/torchinductor_<user>`, which a reboot or a tmp cleaner empties. `use_compile_cache` is called when a
step is compiled, never at import time (STYLE 3.4).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Hashable
from pathlib import Path

import torch

from deepfit.atomic import write_text_atomic

CACHE_ENV = "TORCHINDUCTOR_CACHE_DIR"  # torch's own setting; a user's value is kept
TIMES_FILE = "compile_times.json"  # step key -> seconds the first (compiling) call took
# Before any compile of a shape was recorded: the cold first epoch of `make demo` minus its eager epoch
# (31 s against 1.2-8 s on the 2-core machine, issue 24), rounded.
FIRST_COMPILE_S = 25.0


def deepfit_cache() -> Path:
    """`$XDG_CACHE_HOME/deepfit`, or `~/.cache/deepfit` when it is unset (where Fashion-MNIST is cached too)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "deepfit"


def use_compile_cache() -> Path:
    """Keep torch's compile caches under `deepfit_cache()/inductor` (unless `TORCHINDUCTOR_CACHE_DIR` is set)
    with the FX-graph and AOTAutograd caches on; returns the folder."""
    os.environ.setdefault(CACHE_ENV, str(deepfit_cache() / "inductor"))
    torch._inductor.config.fx_graph_cache = True
    torch._functorch.config.enable_autograd_cache = True
    return Path(os.environ[CACHE_ENV])


def step_key(*parts: Hashable) -> str:
    """The key a step shape's compile time is recorded under: torch's version and `parts` (shapes, backend)."""
    return repr((torch.__version__, *parts))


def _times() -> dict[str, float]:
    try:
        return json.loads((deepfit_cache() / TIMES_FILE).read_text())
    except (OSError, ValueError):
        return {}


def expected_compile_s(key: str) -> tuple[float, bool]:
    """(seconds the step `key` should take to compile, whether it compiled before): the last recorded time,
    else `FIRST_COMPILE_S`."""
    seconds = _times().get(key)
    return (FIRST_COMPILE_S, False) if seconds is None else (float(seconds), True)


def record_compile_s(key: str, seconds: float) -> None:
    """Remember that compiling step `key` took `seconds` (best effort: an unwritable cache is skipped)."""
    times = {**_times(), key: round(seconds, 2)}
    try:
        (deepfit_cache()).mkdir(parents=True, exist_ok=True)
        write_text_atomic(deepfit_cache() / TIMES_FILE, json.dumps(times, indent=1, sort_keys=True))
    except OSError:
        pass


class FirstCallTimed:
    """A compiled step whose first call (where torch compiles it) is timed and recorded under `key`.

    `pending` is True until that call has run: the progress line then says the step is compiling.
    """

    def __init__(self, step: Callable[[], None], key: str) -> None:
        self.step, self.key, self.pending = step, key, True

    def __call__(self) -> None:
        if not self.pending:
            return self.step()
        start = time.perf_counter()
        self.step()
        self.pending = False
        record_compile_s(self.key, time.perf_counter() - start)
        return None
