"""A run's step cost measured alone (studies/timing.py): the median over the timed steps after warm-up."""

from __future__ import annotations

import itertools
import types

import pytest
import torch
from torch import nn

from deepfit.studies import timing


def _result(batch_size: int = 4, out: int = 3) -> types.SimpleNamespace:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, out))
    splits = types.SimpleNamespace(train=_Data(torch.randn(10, 2), torch.randint(0, 3, (10,))))
    config = types.SimpleNamespace(train=types.SimpleNamespace(batch_size=batch_size))
    return types.SimpleNamespace(model=model, splits=splits, config=config)


class _Data:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)


def test_step_ms_is_the_median_of_the_timed_steps_after_warm_up(monkeypatch):
    """A clock reading n**3 us at its n-th read (0-based). Warm-up steps 0..4 read it once each (their start),
    so timed step i (5..34) starts at read 2i - 5 and ends at read 2i - 4: it lasts ((2i-4)**3 - (2i-5)**3) us,
    growing faster than linearly (mean and median differ); the median is that of steps 19 and 20,
    (3.367 + 3.781) / 2 = 3.574 ms."""
    reads = itertools.count()
    monkeypatch.setattr(timing, "time", types.SimpleNamespace(perf_counter=lambda: next(reads) ** 3 / 1e6))
    assert timing.step_ms(_result()) == {"step_ms": pytest.approx(3.574)}
    assert next(reads) == timing.WARMUP + 2 * timing.STEPS


def test_the_runs_own_model_is_left_as_it_was():
    result = _result()
    before = {k: v.clone() for k, v in result.model.state_dict().items()}
    result.model.eval()
    timing.step_ms(result)
    assert not result.model.training and all(p.grad is None for p in result.model.parameters())
    for k, v in result.model.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.mark.parametrize("out", [1, 3])
def test_a_batch_larger_than_the_data_is_cut_to_it_and_one_output_nets_are_timed_too(out, monkeypatch):
    shapes = []
    result = _result(batch_size=64, out=out)
    result.model.register_forward_hook(lambda m, inputs, output: shapes.append(tuple(output.shape)))  # copied too
    monkeypatch.setattr(timing, "time", types.SimpleNamespace(perf_counter=lambda: 0.0))
    assert timing.step_ms(result) == {"step_ms": 0.0}
    assert shapes == [(10, out)] * (timing.WARMUP + timing.STEPS)  # all 10 samples, each step
