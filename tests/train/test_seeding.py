"""Seeding and RNG capture (train/seeding.py): a seed repeats every source, a captured state resumes exactly."""

from __future__ import annotations

import random

import numpy as np
import torch

from deepfit.train.seeding import rng_state, seed_everything, set_rng_state


def _draws() -> tuple[float, float, list[float]]:
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_one_seed_repeats_python_numpy_and_torch_and_another_seed_differs():
    seed_everything(11)
    first = _draws()
    seed_everything(11)
    assert _draws() == first
    seed_everything(12)
    assert all(a != b for a, b in zip(_draws(), first, strict=True))


def test_numpy_gets_the_seed_itself_and_one_beyond_its_range_folded_into_it():
    seed_everything(2**31 + 5)
    inside = float(np.random.rand())
    assert inside == float(np.random.RandomState(2**31 + 5).rand())
    seed_everything(2**32 + 2**31 + 5)
    assert float(np.random.rand()) == inside


def test_a_captured_state_resumes_the_torch_stream_exactly():
    seed_everything(3)
    torch.rand(5)
    state = rng_state()
    expected = torch.rand(4)
    torch.rand(100)
    set_rng_state(state)
    assert torch.equal(torch.rand(4), expected)
    assert set(state) <= {"cpu", "cuda"} and "cpu" in state
