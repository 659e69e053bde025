"""The run's parts from its config (run/setup.py): device, schedule length, lr, performance scheduling."""

from __future__ import annotations

import pytest
import torch

from deepfit.config import config_from_dict
from deepfit.errors import ConfigError, DeviceError
from deepfit.run.setup import eval_batch_option, resolve_device, run_lr, run_schedule, schedule_length, stream_option
from deepfit.train import ReduceLROnPlateau


def test_cpu_is_a_device_and_auto_is_cuda_only_where_present():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_a_bad_device_name_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match=r"train\.device: expected auto, cpu, cuda or cuda:N, got 'gpu0'"):
        resolve_device("gpu0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_device_says_to_use_the_cpu():
    message = r"train\.device is 'cuda:1' but no CUDA device is available; use --device cpu"
    with pytest.raises(DeviceError, match=message):
        resolve_device("cuda:1")


@pytest.mark.parametrize(("interval", "drop_last", "length"), [("step", False, 30), ("step", True, 27),
                                                               ("epoch", False, 3), ("epoch", True, 3)])
def test_a_schedule_spans_the_runs_steps_or_epochs(interval, drop_last, length):
    assert schedule_length(3, 95, 10, interval, drop_last=drop_last) == length


def _cfg(**sections) -> object:
    return config_from_dict({"train": {"epochs": 3, "batch_size": 10}, **sections})


def test_the_run_lr_is_the_optimizers_or_its_default():
    assert run_lr(_cfg(optimizer={"name": "sgd", "lr": 0.3})) == 0.3
    assert run_lr(_cfg(optimizer={"name": "sgd"})) == 0.01  # the registry's default
    assert run_lr(_cfg(optimizer={"name": "nadam"})) == 0.002


def test_a_constant_schedule_without_parameters_is_no_schedule():
    assert run_schedule(_cfg(), 95) == (None, [])


@pytest.mark.parametrize(("drop_last", "steps"), [(False, 30), (True, 27)])
def test_a_cosine_schedule_decays_over_the_whole_run_to_its_end(drop_last, steps):
    cfg = _cfg(optimizer={"name": "sgd", "lr": 0.1}, schedule={"name": "cosine"},
               train={"epochs": 3, "batch_size": 10, "drop_last": drop_last})
    schedule, callbacks = run_schedule(cfg, 95)
    assert callbacks == []
    assert schedule(0) == pytest.approx(0.1) and schedule(steps / 2) == pytest.approx(0.05)
    assert schedule(steps - 1) > 0 and schedule(steps) == pytest.approx(0.0)


def test_a_schedule_needing_the_run_length_without_the_training_size_is_refused():
    with pytest.raises(ConfigError, match=r"schedule 'cosine': needs the run length total_steps >= 1"):
        run_schedule(_cfg(schedule={"name": "cosine"}), None)


@pytest.mark.parametrize(("has_valid", "monitor"), [(True, "val_loss"), (False, "loss")])
def test_performance_scheduling_is_a_callback_watching_training_figures_without_a_validation_split(has_valid,
                                                                                                    monitor):
    schedule, callbacks = run_schedule(_cfg(schedule={"name": "performance", "patience": 2}), 95,
                                       has_valid=has_valid)
    assert schedule is None and len(callbacks) == 1 and isinstance(callbacks[0], ReduceLROnPlateau)
    assert (callbacks[0].monitor, callbacks[0].patience) == (monitor, 2)


def test_auto_options_reach_the_trainer_as_none():
    assert (stream_option(_cfg().train), eval_batch_option(_cfg().train)) == (None, None)
    t = _cfg(train={"epochs": 1, "stream": True, "eval_batch_size": 256}).train
    assert (stream_option(t), eval_batch_option(t)) == (True, 256)
