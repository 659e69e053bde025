"""Each study's `--full` rows are the chapter's code under the Keras convention: the resolved settings of
the cells their docstrings name (handson-ml3 / handson-ml2 11_training_deep_neural_networks.ipynb)."""

from __future__ import annotations

import pytest

from deepfit.studies import STUDIES
from deepfit.studies.runner import variant_config


def _full(study: str, variant: str):
    return variant_config(STUDIES.build(study), variant, full=True, user={}, overrides=[], seed=0)


# study, variant, {dotted setting: the cell's value}
CHAPTER_ROWS = [
    ("reference", "sgd", {"model.hidden": [300, 100], "model.activation": "relu", "model.init": "glorot_uniform",
                          "optimizer.name": "keras_sgd", "optimizer.lr": 0.01, "train.epochs": 30,
                          "train.batch_size": 32, "data.standardize": False}),
    ("reference", "nadam", {"optimizer.name": "keras_nadam", "optimizer.lr": 1e-3}),
    ("optimizers", "rmsprop", {"model.hidden": [100] * 3, "model.init": "he_normal", "optimizer.name": "keras_rmsprop",
                               "optimizer.lr": 1e-3, "optimizer.rho": 0.9, "train.epochs": 10}),
    ("optimizers", "adamw", {"optimizer.name": "keras_adamw", "optimizer.weight_decay": 1e-5}),
    ("optimizers", "nesterov", {"optimizer.name": "keras_sgd", "optimizer.momentum": 0.9, "optimizer.nesterov": True}),
    ("vanishing", "selu_lecun", {"model.hidden": [100] * 100, "model.init": "lecun_normal", "optimizer.lr": 1e-3,
                                 "optimizer.name": "keras_sgd", "data.standardize": True, "train.epochs": 5}),
    ("vanishing", "relu_he", {"model.activation": "relu", "model.init": "he_normal"}),
    ("transfer", "scratch", {"model.hidden": [300, 100, 50, 50, 50], "model.activation": "selu",
                             "model.init": "glorot_uniform", "data.standardize": False, "data.valid": 986,
                             "optimizer.name": "keras_sgd", "optimizer.lr": 1e-3, "train.epochs": 20}),
    ("transfer", "on_a", {"transfer.freeze_epochs": 4, "transfer.lr_factor": 1.0, "transfer.head_lr_factor": 1.0}),
    ("schedules", "one_cycle", {"schedule.cycle_momentum": False, "schedule.max_lr": 0.1, "train.batch_size": 128,
                                "optimizer.name": "keras_sgd", "train.epochs": 25}),
    ("schedules", "performance", {"schedule.factor": 0.5, "schedule.patience": 5, "train.batch_size": 32}),
    ("mc_dropout", "dropout_0.2", {"model.input_dropout": 0.2, "model.dropout": 0.2, "optimizer.momentum": 0.9,
                                   "optimizer.name": "keras_sgd", "train.epochs": 10}),
    ("regularization", "max_norm_1", {"regularization.max_norm": 1.0, "optimizer.name": "keras_sgd"}),
    ("batchnorm", "before", {"model.norm_momentum": 0.01, "model.norm_eps": 1e-3, "model.norm_running_var": "biased"}),
]


def _get(cfg, dotted: str):
    node = cfg.model_dump()
    for key in dotted.split("."):
        node = node[key]
    return node


@pytest.mark.parametrize(("study", "variant", "settings"), CHAPTER_ROWS, ids=[f"{s}-{v}" for s, v, _ in CHAPTER_ROWS])
def test_full_chapter_row_has_the_cells_settings(study, variant, settings):
    cfg = _full(study, variant)
    assert cfg.conventions is not None and cfg.conventions.keras
    assert {k: _get(cfg, k) for k in settings} == settings


@pytest.mark.parametrize("study", ["reference", "optimizers", "vanishing", "transfer", "schedules", "mc_dropout",
                                   "regularization", "batchnorm", "activations", "clipping"])
def test_every_full_row_trains_under_the_keras_convention_and_reduced_rows_do_not(study):
    s = STUDIES.build(study)
    for variant in s.variants:
        assert _full(study, variant).conventions.keras, variant
        assert variant_config(s, variant, full=False, user={}, overrides=[], seed=0).conventions is None


def test_deepfit_variations_are_named_variants_beside_the_chapter_row():
    assert _full("transfer", "scratch_lecun").model.init == "lecun_normal"
    assert _full("transfer", "scratch_lecun").data.standardize is True
    assert _full("transfer", "on_a_div10").transfer.lr_factor == 0.1
    assert _full("schedules", "one_cycle_momentum").schedule.model_extra.get("cycle_momentum") is None


def test_transfer_model_a_takes_the_chapter_split_under_full():
    """Model A validates on the 4,014 task-A images among the first 5,000 (the code's X_train_full[:5000])."""
    from deepfit.config import config_from_dict, deep_merge
    from deepfit.studies.catalog import transfer

    cfg = config_from_dict(deep_merge(transfer.MODEL_A_BASE, transfer.MODEL_A_FULL))
    assert (cfg.data.name, cfg.data.valid, cfg.model.init, cfg.optimizer.name) == (
        "fashion_mnist_a", 4014, "glorot_uniform", "keras_sgd")
