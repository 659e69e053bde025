"""Compiled steps leave their caches in deepfit's cache folder and their compile time for the next run."""

import json
import os

import pytest
import torch
from torch._inductor.runtime.cache_dir_utils import default_cache_dir

from deepfit.data import TensorData
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Callback, Trainer, UpdateRule, compile_cache, objective_for
from deepfit.train.backends import compile_pending
from deepfit.train.compile_cache import (
    CACHE_ENV,
    FIRST_COMPILE_S,
    FirstCallTimed,
    expected_compile_s,
    record_compile_s,
    step_key,
    use_compile_cache,
)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(CACHE_ENV, raising=False)
    yield tmp_path / "deepfit"
    monkeypatch.delenv(CACHE_ENV, raising=False)  # use_compile_cache set it; monkeypatch puts the old one back


def test_torch_caches_go_under_deepfits_cache_folder(cache):
    assert use_compile_cache() == cache / "inductor" and os.environ[CACHE_ENV] == str(cache / "inductor")


def test_a_users_inductor_cache_setting_is_kept(cache, monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert use_compile_cache() == tmp_path / "mine"


def test_compile_time_is_expected_from_the_last_record_of_its_key(cache):
    key = step_key("cpu", (28, 28), 32)
    assert expected_compile_s(key) == (FIRST_COMPILE_S, False)
    record_compile_s(key, 3.456)
    assert expected_compile_s(key) == (3.46, True) and expected_compile_s(step_key("cpu", (28, 28), 64))[1] is False


def test_first_call_is_timed_and_recorded_once_and_the_step_stops_pending(cache, monkeypatch):
    clock = iter([10.0, 14.5])
    monkeypatch.setattr(compile_cache.time, "perf_counter", lambda: next(clock))
    calls = []
    step = FirstCallTimed(lambda: calls.append(1), "k")
    assert compile_pending(step) == (FIRST_COMPILE_S, False)
    step()
    step()
    assert calls == [1, 1] and compile_pending(step) is None and expected_compile_s("k") == (4.5, True)


def test_an_eager_step_is_never_pending():
    assert compile_pending(lambda: None) is None


def test_a_compiled_fit_says_it_compiles_before_its_first_step_only(cache, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, default_cache_dir())  # torch's own folder, warm from the other compile tests
    class Seen(Callback):
        def __init__(self) -> None:
            self.compiling = []

        def on_epoch_begin(self, view, logs) -> None:
            self.compiling.append(logs["compiling"])

    torch.manual_seed(0)
    seen = Seen()
    trainer = Trainer(build_model(ModelSpec((4,), 3, hidden=(5,))), objective_for("auto", "multiclass"),
                      UpdateRule("sgd", {"lr": 0.1}), batch_size=8, callbacks=[seen], engine="compile")
    trainer.fit(TensorData(torch.randn(32, 4), torch.randint(0, 3, (32,))), epochs=2)
    assert seen.compiling == [(FIRST_COMPILE_S, False), None]
    (key,) = json.loads((cache / "compile_times.json").read_text())
    assert expected_compile_s(key)[1]
