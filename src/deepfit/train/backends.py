"""How a group's training step runs: eagerly, compiled with `torch.compile`, or captured in a CUDA graph.

All three run the same step (`Group.train_step`); the step has static shapes and reads everything that
changes between steps from device tensors, so compiling or capturing it changes the speed, not the result
(tests/train/test_engine.py). `auto` picks the fastest backend known to be safe for the device and run;
data-parallel training (train/distributed.py) runs eagerly.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from deepfit.errors import ConfigError, DeviceError
from deepfit.train.compile_cache import FirstCallTimed, expected_compile_s, step_key, use_compile_cache

if TYPE_CHECKING:
    from deepfit.train.engine import Group

ENGINES = ("auto", "eager", "compile", "graph")
# `auto` compiles on the CPU only for runs this long: compiling costs seconds (less once cached on disk),
# a compiled step saves a fraction of a millisecond (benchmarks/engine_speed.py).
COMPILE_MIN_STEPS = 5000
GRAPH_WARMUP_STEPS = 3  # eager steps on a side stream before capture, as torch.cuda.graphs requires


def resolve_engine(name: str, group: Group, steps: int) -> str:
    """The backend `name` asks for, with `auto` resolved for `group`'s device and a run of `steps` steps.

    Raises:
        ConfigError: an unknown name.
        DeviceError: `graph` without a CUDA device.
    """
    if name not in ENGINES:
        raise ConfigError(f"train.engine: expected one of {', '.join(ENGINES)}, got {name!r}")
    cuda = group.device.type == "cuda"
    if name == "graph" and not cuda:
        raise DeviceError("train.engine = 'graph' captures CUDA graphs and needs a CUDA device; use compile or eager")
    if group.parallel is not None and name != "eager":
        if name != "auto":
            warnings.warn(f"train.engine = {name!r}: data-parallel steps run eagerly", RuntimeWarning, stacklevel=3)
        return "eager"
    if group.streamed and name != "eager":
        if name != "auto":
            warnings.warn(f"train.engine = {name!r}: steps on data streamed from host memory run eagerly",
                          RuntimeWarning, stacklevel=3)
        return "eager"
    if name != "auto":
        return name
    if cuda:
        return "graph"
    return "compile" if steps >= COMPILE_MIN_STEPS else "eager"


def make_step(engine: str, group: Group) -> Callable[[], None]:
    """A function that runs one training step of `group` on backend `engine` (already resolved)."""
    if engine == "eager":
        return group.train_step
    if engine == "compile":
        use_compile_cache()  # a step of these shapes compiled by an earlier run loads from the cache
        return FirstCallTimed(_compiled_step(group), compile_key(group))
    return _GraphStep(group)


def compile_key(group: Group) -> str:
    """What a compiled step's compile time is recorded under: device, sample shape and dtype, batch, members,
    parameters, the network's class and whether the step is one graph."""
    return step_key(str(group.device), tuple(group.x.shape[1:]), str(group.x.dtype), group.order.batch_size,
                    group.k, tuple(group.tensors.trainable.data.shape), type(group.models[0]).__name__,
                    group.functional)


def compile_pending(step: Callable[[], None]) -> tuple[float, bool] | None:
    """For a compiled step that has not run yet: the seconds its compile should take and whether a step of
    its shapes compiled before (its graphs are then in the cache); None for any other step."""
    if not isinstance(step, FirstCallTimed) or not step.pending:
        return None
    return expected_compile_s(step.key)


def _own_code(method: Callable) -> Callable:
    """`method` bound to a copy of its function with a code object of its own.

    Dynamo keeps compiled graphs per code object and, past `torch._dynamo.config.recompile_limit` (8)
    entries, silently runs the function eagerly: every group has its own tensors and shapes, so the ninth
    group compiled in one process (a sweep, a study, a benchmark) would train eagerly. With a code object
    per group each compiles once, and its graphs go when the group does.
    """
    f = method.__func__
    own = types.FunctionType(f.__code__.replace(), f.__globals__, f.__name__, f.__defaults__, f.__closure__)
    own.__kwdefaults__, own.__qualname__ = f.__kwdefaults__, f.__qualname__
    return types.MethodType(own, method.__self__)


def _compiled_step(group: Group) -> Callable[[], None]:
    """The step compiled: as one graph where the group has a functional step, otherwise in two halves."""
    halves = _compiled_halves(group)
    return _WholeStep(group, halves) if group.functional else halves


class _WholeStep:
    """The functional step (`Group.functional_step`) compiled as one graph: batch, forward, gradient,
    update and sums in a single call, with no autograd engine between them (about a quarter faster than
    the two halves at batch 32 on the CPU, benchmarks/engine_speed.py).

    Compiled with `fullgraph=True`, so tracing fails before anything runs if the step cannot be one graph
    (an operation dynamo cannot trace); the step then runs as `halves`, and `whole` says which one runs.
    """

    def __init__(self, group: Group, halves: Callable[[], None]) -> None:
        self.group, self.halves = group, halves
        self.fn = torch.compile(_own_code(group.functional_step), dynamic=False, fullgraph=True)
        self.whole: bool | None = None  # None until the first call has compiled it

    def __call__(self) -> None:
        if self.whole is False:
            return self.halves()
        if self.whole:
            return self.fn(self.group.active_mask())
        try:
            self.fn(self.group.active_mask())
            self.whole = True
        except Exception as exc:  # any failure to trace or compile; the two halves are the same step
            warnings.warn(f"the step could not be compiled as one graph ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); compiling it in two halves",
                          RuntimeWarning, stacklevel=2)
            self.whole = False
            self.halves()


def _compiled_halves(group: Group) -> Callable[[], None]:
    """Forward + loss (with its backward, through AOTAutograd) and the update compiled apart, the gradients
    taken between them by the autograd engine, so that neither half has a graph break."""
    forward = _Fallback(torch.compile(_own_code(group.forward_loss), dynamic=False), group.forward_loss, group)
    apply = _Fallback(torch.compile(_own_code(group.apply_), dynamic=False), group.apply_, group)

    def step() -> None:
        idx, w = group.order.batch(group.pos)
        total, stats = forward(idx, w)
        grads = torch.autograd.grad(total, group.leaves)
        apply(grads, stats, group.active_mask())

    return step


class _Fallback:
    """A compiled function that falls back to its eager twin, with one warning, if compiling fails.

    Compilation happens at the first call, before anything runs, so the eager call sees the same state.
    """

    def __init__(self, compiled: Callable, eager: Callable, group: Group) -> None:
        self.fn, self.eager, self.group, self.tried = compiled, eager, group, False

    def __call__(self, *args):
        if self.tried:
            return self.fn(*args)
        self.tried = True
        try:
            return self.fn(*args)
        except Exception as exc:
            warnings.warn(
                f"torch.compile failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
                "training eagerly instead (train.engine = 'eager' skips the attempt)",
                RuntimeWarning,
                stacklevel=2,
            )
            self.fn = self.eager
            self.group.engine = "eager"
            return self.fn(*args)


class _GraphStep:
    """The step captured once in a CUDA graph and replayed (torch.cuda.graphs, "whole-network capture").

    The first `GRAPH_WARMUP_STEPS` steps run eagerly on a side stream (they train, as every step does);
    the next call captures the step and replays it, and every later call replays it: one launch per step.
    Everything the step reads or writes (data, batch order, tables, parameters, optimizer state, sums,
    the step counter) lives in tensors allocated before capture and changed in place.
    """

    def __init__(self, group: Group) -> None:
        self.group, self.calls = group, 0
        self.graph: torch.cuda.CUDAGraph | None = None

    def __call__(self) -> None:
        if self.graph is not None:
            self.graph.replay()
            return
        stream = torch.cuda.Stream(self.group.device)
        stream.wait_stream(torch.cuda.current_stream(self.group.device))
        if self.calls < GRAPH_WARMUP_STEPS:
            with torch.cuda.stream(stream):
                self.group.train_step()
            torch.cuda.current_stream(self.group.device).wait_stream(stream)
            self.calls += 1
            return
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.group.train_step()  # recorded, not run
        self.graph = graph
        graph.replay()
