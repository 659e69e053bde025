"""How a step runs (train/backends.py): which backend `auto` and each name resolve to, the compiled halves
and their eager fallback, and the compiled step's key."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from deepfit.data import TensorData, from_arrays
from deepfit.errors import ConfigError, DeviceError
from deepfit.nn import ModelSpec, build_model
from deepfit.train import UpdateRule, backends, objective_for
from deepfit.train.backends import COMPILE_MIN_STEPS, _Fallback, _own_code, compile_key, make_step, resolve_engine
from deepfit.train.engine import Group


def _fake(device: str = "cpu", parallel=None, streamed: bool = False) -> types.SimpleNamespace:
    return types.SimpleNamespace(device=torch.device(device), parallel=parallel, streamed=streamed, engine="eager")


@pytest.mark.parametrize(("name", "device", "steps", "expected"), [
    ("auto", "cpu", 0, "eager"),
    ("auto", "cpu", COMPILE_MIN_STEPS - 1, "eager"),
    ("auto", "cpu", COMPILE_MIN_STEPS, "compile"),
    ("auto", "cuda", 0, "graph"),
    ("eager", "cuda", 10**6, "eager"),
    ("compile", "cpu", 0, "compile"),
    ("graph", "cuda", 0, "graph"),
])
def test_auto_compiles_long_cpu_runs_and_captures_cuda_graphs(name, device, steps, expected):
    assert resolve_engine(name, _fake(device), steps) == expected


@pytest.mark.parametrize("kind", ["parallel", "streamed"])
def test_data_parallel_and_streamed_steps_run_eagerly_with_a_warning_only_when_asked_for_more(kind):
    group = _fake("cuda", parallel=object()) if kind == "parallel" else _fake("cuda", streamed=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # auto falls back silently
        assert resolve_engine("auto", group, COMPILE_MIN_STEPS) == "eager"
    words = "data-parallel steps" if kind == "parallel" else "steps on data streamed from host memory"
    with pytest.warns(RuntimeWarning, match=f"train.engine = 'compile': {words} run eagerly"):
        assert resolve_engine("compile", group, 0) == "eager"


def test_an_unknown_engine_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match=r"train.engine: expected one of auto, eager, compile, graph, got 'jit'"):
        resolve_engine("jit", _fake(), 0)


def test_graph_without_cuda_is_refused():
    with pytest.raises(DeviceError, match=r"train.engine = 'graph' captures CUDA graphs and needs a CUDA device"):
        resolve_engine("graph", _fake("cpu"), 0)


def test_the_eager_backend_is_the_groups_own_step_and_has_nothing_pending():
    group = types.SimpleNamespace(train_step=lambda: None)
    step = make_step("eager", group)
    assert step == group.train_step and backends.compile_pending(step) is None


def test_a_failed_compile_warns_once_runs_the_eager_twin_and_marks_the_group_eager():
    group = _fake()
    group.engine = "compile"
    calls = []

    def compiled(x):
        calls.append(("compiled", x))
        raise RuntimeError("inductor exploded\nwith details")

    fallback = _Fallback(compiled, lambda x: calls.append(("eager", x)) or x + 1, group)
    message = r"torch.compile failed \(RuntimeError: inductor exploded\); training eagerly"
    with pytest.warns(RuntimeWarning, match=message):
        assert fallback(1) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fallback(5) == 6
    assert calls == [("compiled", 1), ("eager", 1), ("eager", 5)] and group.engine == "eager"


def test_a_compiled_function_that_works_is_kept():
    group = _fake()
    group.engine = "compile"
    fallback = _Fallback(lambda x: x * 10, lambda x: pytest.fail("the eager twin ran"), group)
    assert [fallback(1), fallback(2)] == [10, 20] and group.engine == "compile"


def test_own_code_gives_each_bound_method_a_code_object_of_its_own_that_behaves_the_same():
    class Box:
        def __init__(self, v):
            self.v = v

        def get(self, add, *, times=2):
            return (self.v + add) * times

    a, b = _own_code(Box(1).get), _own_code(Box(3).get)
    assert a.__func__.__code__ is not b.__func__.__code__
    assert a.__func__.__code__ is not Box.get.__code__
    assert (a(1), b(1, times=1), a.__qualname__) == (4, 4, Box.get.__qualname__)


def _key_group(**over):
    """The parts of a group a compile key reads, each changeable."""
    v = {"device": "cpu", "x": torch.zeros(10, 6), "batch": 32, "k": 2, "width": 40, "functional": True, **over}
    ns = types.SimpleNamespace
    trainable = ns(data=torch.zeros(v["k"], v["width"]))
    return ns(device=torch.device(v["device"]), x=v["x"], order=ns(batch_size=v["batch"]), k=v["k"],
              tensors=ns(trainable=trainable), models=[nn.Linear(1, 1)], functional=v["functional"])


@pytest.mark.parametrize("change", [{"batch": 64}, {"k": 3}, {"width": 41}, {"functional": False},
                                    {"x": torch.zeros(10, 7)}, {"x": torch.zeros(10, 6, dtype=torch.float64)}])
def test_the_compile_key_changes_with_each_shape_that_makes_another_graph(change):
    assert compile_key(_key_group()) == compile_key(_key_group(x=torch.zeros(99, 6)))  # not the number of samples
    assert compile_key(_key_group(**change)) != compile_key(_key_group())


N, BATCH = 100, 16  # 6 whole batches and a short one of 4


def _data() -> TensorData:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=N)
    x = (rng.normal(0, 2, size=(3, 6))[y] + rng.normal(size=(N, 6))).astype(np.float32)
    return from_arrays(x, y, valid=0).train


def _group(data: TensorData) -> Group:
    models = []
    for s in (1, 2):
        torch.manual_seed(s)
        models.append(build_model(ModelSpec((6,), 3, hidden=[8], norm="before")))
    rules = [UpdateRule("adam", {"lr": lr}, clip="global_norm", clip_threshold=0.5) for lr in (0.01, 0.003)]
    group = Group(models, objective_for("auto", "multiclass"), rules, torch.device("cpu"))
    group.start(data, BATCH, engine="eager")
    group.prepare_epoch([torch.Generator().manual_seed(s) for s in (1, 2)], 0, group.order.steps)
    return group


def test_the_compiled_halves_run_the_eager_steps_arithmetic(monkeypatch):
    """The halves' wiring (batch, forward and loss, gradient, update, sums), with compiling left out: that a
    compiled step trains as the eager one is tests/train/test_engine.py's (a real compile costs ~20 s of CPU)."""
    monkeypatch.setattr(torch, "compile", lambda fn, **_: fn)
    data = _data()
    eager, halves = _group(data), _group(data)
    step = backends._compiled_halves(halves)
    for _ in range(eager.order.steps):
        eager.train_step()
        step()
    for name in ("trainable", "buffers", "counters"):
        torch.testing.assert_close(getattr(halves.tensors, name).data, getattr(eager.tensors, name).data,
                                   rtol=0, atol=0, msg=name)
    torch.testing.assert_close(halves.sums, eager.sums, rtol=0, atol=0)
    assert halves.pos.item() == eager.order.steps

