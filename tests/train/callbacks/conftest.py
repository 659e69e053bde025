"""A small fit that callback tests attach their callback to."""

from __future__ import annotations

import pytest
import torch
from tests.conftest import make_blobs

from deepfit.data import from_arrays
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Trainer, UpdateRule, objective_for


@pytest.fixture
def fit_blobs():
    """`fit_blobs(callbacks, epochs=3, **trainer_options)` -> (trainer, history): 300 training and 100
    validation blobs, a 12-8-3 network, SGD, batch 32 (10 steps an epoch), eager engine."""

    def fit(callbacks, epochs=3, **options):
        x, y = make_blobs(500)
        s = from_arrays(x[:400], y[:400], x[400:], y[400:], valid=100)
        torch.manual_seed(0)
        model = build_model(ModelSpec(input_shape=(12,), num_outputs=3, hidden=[8]))
        trainer = Trainer(model, objective_for("auto", "multiclass"), UpdateRule("sgd", {"lr": 0.05}),
                          batch_size=32, engine="eager", callbacks=callbacks, **options)
        return trainer, trainer.fit(s.train, s.valid, epochs=epochs)

    return fit
