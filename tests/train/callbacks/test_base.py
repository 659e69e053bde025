"""The callback protocol (train/callbacks/base.py): no-op events, the probe test, and the monitored best."""

from __future__ import annotations

import math

import pytest

from deepfit.errors import ConfigError
from deepfit.train.callbacks.base import CALLBACKS, Callback, Monitored, probes


def test_the_base_callback_does_nothing_and_keeps_no_state():
    cb = Callback()
    for event in ("on_fit_begin", "on_epoch_begin", "on_steps", "on_probe", "on_epoch_end", "on_fit_end"):
        assert getattr(cb, event)(None, {}) is None
    assert cb.state_dict() == {} and cb.load_state_dict({"x": 1}) is None
    assert (Callback.order, Callback.per_member) == (0, False)


def test_only_a_callback_that_overrides_on_probe_listens_to_probes():
    class Probing(Callback):
        def on_probe(self, view, logs):
            pass

    class Inherits(Probing):
        pass

    class Other(Callback):
        def on_epoch_end(self, view, logs):
            pass

    assert probes(Probing()) and probes(Inherits()) and not probes(Other()) and not probes(Callback())


def test_the_registry_builds_the_callbacks_by_name():
    assert {"early_stopping", "checkpoint"} <= set(CALLBACKS.names())


@pytest.mark.parametrize(("monitor", "values", "best"), [
    ("val_loss", [1.0, 0.5, 0.7], 0.5),
    ("val_accuracy", [0.5, 0.9, 0.7], 0.9),
    ("loss", [2.0, float("nan"), float("inf"), 1.5], 1.5),
])
def test_the_best_is_the_least_loss_or_the_greatest_accuracy_and_never_non_finite(monitor, values, best):
    tracked = Monitored(monitor, 0.0, "test")
    assert tracked.best == (-math.inf if "acc" in monitor else math.inf)
    for v in values:
        if tracked.improved(v):
            tracked.best = v
    assert tracked.best == best


def test_an_improvement_beats_the_best_by_more_than_min_delta_either_way():
    low, high = Monitored("val_loss", 0.1, "t"), Monitored("val_acc", 0.1, "t")
    low.best, high.best = 1.0, 0.5
    assert not low.improved(0.9) and low.improved(0.89)
    assert not high.improved(0.6) and high.improved(0.61)


def test_a_missing_metric_names_the_callback_the_metric_and_the_logs():
    with pytest.raises(ConfigError, match=r"reduce lr monitors 'val_accuracy', but the epoch logs have only "
                                          r"\['epoch', 'loss'\]"):
        Monitored("val_accuracy", 0.0, "reduce lr").value({"loss": 1.0, "epoch": 1})
    assert Monitored("loss", 0.0, "t").value({"loss": 2}) == 2.0
