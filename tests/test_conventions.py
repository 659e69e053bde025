"""The Keras convention (conventions.py): Keras's values for what a config leaves unset, explicit settings
kept, resolved once into plain values that round-trip, and seen on the built model and update rule."""

from __future__ import annotations

import argparse
import math

import numpy as np
import pytest
import tomllib
import torch

from deepfit.cli.options import add_run_options, config_from_args
from deepfit.config import config_from_dict, load_config, to_dict, to_toml
from deepfit.conventions import KERAS_OPTIMIZERS
from deepfit.nn import BiasedBatchNorm1d, ModelSpec, build_model
from deepfit.optim import resolve_hyperparameters

KERAS = {"conventions": {"keras": True}}


def _keras(**sections) -> dict:
    return to_dict(config_from_dict({**KERAS, **sections}))


def test_keras_convention_fills_every_unset_default_with_keras_value():
    cfg = config_from_dict(KERAS)
    assert cfg.model.init == "glorot_uniform"
    assert (cfg.model.norm_momentum, cfg.model.norm_eps, cfg.model.norm_running_var) == (0.01, 1e-3, "biased")
    assert cfg.data.standardize is False
    assert cfg.train.early_stopping is None  # Keras's fit has none
    assert cfg.optimizer.name == "keras_nadam"  # deepfit's default optimizer, in its Keras form
    assert resolve_hyperparameters(cfg.optimizer.name, cfg.optimizer.params()) == {
        "lr": 1e-3, "eps": 1e-7, "weight_decay": 0.0, "beta1": 0.9, "beta2": 0.999}


def test_without_the_convention_nothing_changes():
    off = to_dict(config_from_dict({"conventions": {"keras": False}}))
    assert off == {**to_dict(config_from_dict({})), "conventions": {"keras": False}}
    cfg = config_from_dict({})
    assert (cfg.model.init, cfg.data.standardize, cfg.optimizer.name) == (None, True, "nadam")


@pytest.mark.parametrize("name", sorted(KERAS_OPTIMIZERS))
def test_each_optimizer_takes_its_keras_form(name):
    keras_name, implied = KERAS_OPTIMIZERS[name]
    optimizer = _keras(optimizer={"name": name})["optimizer"]
    assert optimizer == {"name": keras_name, **implied}


def test_keras_spellings_and_aliases_are_mapped_too():
    assert _keras(optimizer={"name": "Adam", "learning_rate": 0.01})["optimizer"] == {"name": "keras_adam", "lr": 0.01}
    assert _keras(optimizer={"name": "nag"})["optimizer"] == {"name": "keras_sgd", "momentum": 0.9, "nesterov": True}


def test_the_convention_names_registered_optimizers_only():
    """The table is read without torch, so it is checked against the registry here."""
    from deepfit.optim import OPTIMIZERS

    for name, (keras_name, _) in KERAS_OPTIMIZERS.items():
        assert OPTIMIZERS.canonical(name) == name
        assert OPTIMIZERS.canonical(keras_name) == keras_name


@pytest.mark.parametrize(
    ("sections", "path", "kept"),
    [
        ({"model": {"init": "he_normal"}}, ("model", "init"), "he_normal"),
        ({"model": {"norm_momentum": 0.1}}, ("model", "norm_momentum"), 0.1),
        ({"model": {"norm_running_var": "unbiased"}}, ("model", "norm_running_var"), "unbiased"),
        ({"data": {"standardize": True}}, ("data", "standardize"), True),
        ({"train": {"early_stopping": {"patience": 3}}}, ("train", "early_stopping", "patience"), 3),
        ({"optimizer": {"name": "momentum", "momentum": 0.5}}, ("optimizer", "momentum"), 0.5),
        ({"optimizer": {"name": "rmsprop", "eps": 1e-8}}, ("optimizer", "eps"), 1e-8),
    ],
)
def test_an_explicit_setting_wins_over_the_convention(sections, path, kept):
    node = _keras(**sections)
    for key in path:
        node = node[key]
    assert node == kept


def test_a_factory_model_gets_no_dense_network_keys():
    cfg = config_from_dict({**KERAS, "model": {"factory": "tests/fixtures/net.py:build"}})
    assert cfg.model.spec_options() == {}


@pytest.mark.parametrize(("interval", "inclusive"), [("step", True), ("epoch", None)])
def test_piecewise_boundaries_are_keras_on_steps_only(interval, inclusive):
    """PiecewiseConstantDecay counts steps; an epoch schedule is the chapter's own function (epoch < 5)."""
    schedule = {"name": "piecewise", "boundaries": [5], "values": [0.1, 0.01], "interval": interval}
    assert _keras(schedule=schedule)["schedule"].get("inclusive") == inclusive


def test_performance_scheduling_takes_keras_reduce_lr_on_plateau_defaults():
    assert _keras(schedule={"name": "performance"})["schedule"] == {
        "name": "performance", "interval": "step", "factor": 0.1, "patience": 10}
    assert _keras(schedule={"name": "performance", "factor": 0.5})["schedule"]["factor"] == 0.5


def test_resolved_config_round_trips_through_toml_unchanged():
    cfg = load_config(overrides=["conventions.keras=true", "optimizer.name=rmsprop", "schedule.name=piecewise",
                                 "schedule.boundaries=[10]", "schedule.values=[0.1, 0.01]"])
    text = to_toml(cfg)
    again = config_from_dict(tomllib.loads(text))
    assert to_dict(again) == to_dict(cfg)
    assert to_toml(again) == text
    assert 'name = "keras_rmsprop"' in text and "inclusive = true" in text


def test_keras_flag_of_every_training_command_turns_it_on():
    p = argparse.ArgumentParser()
    add_run_options(p)
    assert config_from_args(p.parse_args(["--keras"])).model.init == "glorot_uniform"
    assert config_from_args(p.parse_args([])).conventions is None
    # the default preset is deepfit's choice; --keras alone trains the plain dense net with Keras's defaults
    assert config_from_args(p.parse_args(["--keras"]), default_preset="guidelines_selu").model.activation is None
    assert config_from_args(p.parse_args([]), default_preset="guidelines_selu").model.activation == "selu"
    kept = config_from_args(p.parse_args(["--keras", "--preset", "guidelines_selu"]), default_preset="reference")
    assert (kept.model.activation, kept.model.init) == ("selu", "lecun_normal")


def test_built_model_has_keras_initialisation_and_batch_norm():
    cfg = config_from_dict({**KERAS, "model": {"hidden": [300, 100], "norm": "before"}})
    torch.manual_seed(0)
    model = build_model(ModelSpec(input_shape=(784,), num_outputs=10, **cfg.model.spec_options()))
    w = model.hidden1.linear.weight.detach()  # (300, 784)
    limit = math.sqrt(6 / (784 + 300))  # Glorot uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out))
    assert w.abs().max() <= limit and w.abs().max() > 0.99 * limit
    assert abs(float(w.std()) - limit / math.sqrt(3)) < 0.01 * limit
    assert float(model.output.bias.detach().abs().max()) == 0.0
    norm = model.hidden1.norm
    assert isinstance(norm, BiasedBatchNorm1d)
    assert (norm.momentum, norm.eps) == (0.01, 1e-3)


def test_deepfit_default_model_is_not_keras():
    model = build_model(ModelSpec(input_shape=(784,), num_outputs=10, **config_from_dict({"model": {
        "norm": "before"}}).model.spec_options()))
    assert type(model.hidden1.norm) is torch.nn.BatchNorm1d
    assert not np.isclose(float(model.hidden1.linear.weight.std()), math.sqrt(2 / (784 + 300)), rtol=0.05)


def test_a_training_step_under_the_convention_is_keras_rmsprop(blobs_npz):
    """One full-batch step of `deepfit train --keras` with RMSprop, against Keras's update in NumPy on the
    gradient of the same initial network: w - lr g / sqrt((1 - rho) g^2 + 1e-7), rho 0.9."""
    from tests.oracles import keras_optimizers as keras

    from deepfit.run.setup import build_member, load_splits, model_spec
    from deepfit.run.training import run_training

    cfg = config_from_dict({**KERAS, "data": {"name": "npz", "path": str(blobs_npz), "valid": 0},
                            "model": {"hidden": [8]}, "optimizer": {"name": "rmsprop", "lr": 0.01},
                            "train": {"epochs": 1, "batch_size": 700, "engine": "eager", "device": "cpu"}})
    splits = load_splits(cfg)
    start = build_member(cfg, model_spec(cfg, splits))
    loss = torch.nn.functional.cross_entropy(start(splits.train.x), splits.train.y)
    loss.backward()
    trained = run_training(cfg, save=False).model
    for name, p in start.named_parameters():
        want = keras.run("rmsprop", p.detach().double().numpy(), [p.grad.double().numpy()], [0.01])[0]
        got = dict(trained.named_parameters())[name].detach().double().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6, err_msg=name)
    assert float(start.hidden1.linear.weight.grad.abs().max()) > 1e-3
