"""Early stopping (train/callbacks/early_stopping.py), Keras semantics: patience, min_delta, best weights."""

from __future__ import annotations

import types

import pytest
import torch
from torch import nn

from deepfit.errors import ConfigError
from deepfit.train.callbacks.early_stopping import EarlyStopping


def _view() -> types.SimpleNamespace:
    return types.SimpleNamespace(model=nn.Linear(1, 1, bias=False), stop_training=False)


def _feed(cb: EarlyStopping, values: list[float], key: str = "val_loss") -> types.SimpleNamespace:
    """Epochs 1.. with the model's weight set to the epoch number, until the callback stops the fit."""
    view = _view()
    for epoch, value in enumerate(values, start=1):
        with torch.no_grad():
            view.model.weight.fill_(epoch)
        cb.on_epoch_end(view, {"epoch": epoch, key: value})
        if view.stop_training:
            break
    cb.on_fit_end(view, {})
    return view


def test_it_stops_after_patience_epochs_without_improvement_and_restores_the_best_weights():
    cb = EarlyStopping(patience=2)
    view = _feed(cb, [1.0, 0.8, 0.9, 0.85, 0.1])
    assert (cb.best, cb.best_epoch, cb.stopped_epoch, cb.wait) == (0.8, 2, 4, 2)
    assert view.model.weight.item() == 2.0


def test_an_improvement_must_beat_the_best_by_more_than_min_delta():
    cb = EarlyStopping(patience=1, min_delta=0.1)
    _feed(cb, [1.0, 0.95])
    assert (cb.best_epoch, cb.stopped_epoch) == (1, 2)


def test_accuracies_are_maximised():
    cb = EarlyStopping(monitor="val_accuracy", patience=1)
    _feed(cb, [0.5, 0.7, 0.6], key="val_accuracy")
    assert (cb.best, cb.best_epoch, cb.stopped_epoch) == (0.7, 2, 3)


def test_a_non_finite_epoch_is_never_the_best():
    cb = EarlyStopping(patience=3)
    view = _feed(cb, [1.0, float("nan"), float("-inf")])
    assert (cb.best, cb.best_epoch) == (1.0, 1) and view.model.weight.item() == 1.0


def test_patience_zero_stops_at_the_first_epoch_without_improvement():
    cb = EarlyStopping(patience=0)
    _feed(cb, [1.0, 2.0, 0.5])
    assert cb.stopped_epoch == 2


def test_without_restore_best_the_last_weights_stay():
    cb = EarlyStopping(patience=1, restore_best=False)
    view = _feed(cb, [1.0, 2.0])
    assert view.model.weight.item() == 2.0 and cb.best_weights is None


def test_its_state_resumes_the_count():
    first = EarlyStopping(patience=3)
    _feed(first, [1.0, 2.0, 2.0])
    second = EarlyStopping(patience=3)
    second.load_state_dict(first.state_dict())
    _feed(second, [3.0])
    assert (second.wait, second.stopped_epoch, second.best_epoch) == (3, 1, 1)


def test_a_missing_metric_names_the_logs_and_the_fix():
    with pytest.raises(ConfigError, match=r"early stopping monitors 'val_loss', but the epoch logs have only "
                                          r"\['epoch', 'loss'\] \(is there a validation split\? set data.valid\)"):
        EarlyStopping().on_epoch_end(_view(), {"epoch": 1, "loss": 1.0})


@pytest.mark.parametrize(("kw", "message"), [({"patience": -1}, "patience must be >= 0, got -1"),
                                             ({"min_delta": -0.1}, "min_delta must be >= 0, got -0.1")])
def test_negative_settings_are_refused(kw, message):
    with pytest.raises(ConfigError, match=f"early stopping: {message}"):
        EarlyStopping(**kw)
