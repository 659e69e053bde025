"""Conventions: another library's defaults, resolved once at the config edge into plain settings.

`[conventions] keras = true` (`--keras`) gives every default that the chapter's Keras code leaves to Keras
Keras's value, so that a transcription of that code trains the network the code trains. It acts on the
configuration as written (a nested dict, before validation), filling only what the configuration leaves
unset: an explicit setting, a preset's included, always wins. Everything below `config.py` then sees plain
values (`model.init = "glorot_uniform"`, `optimizer.name = "keras_adam"`), so no component asks which
convention is on. docs/keras-convention.md lists every difference, with what the convention sets for each.
"""

from __future__ import annotations

import copy
from typing import Any

# deepfit optimizer -> its Keras form (optim/keras_optimizers.py, whose signatures hold Keras's defaults: lr, eps
# 1e-7, rho 0.9, ...) and the settings the deepfit entry implies (momentum's 0.9), used where not set.
KERAS_OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("keras_sgd", {}),
    "momentum": ("keras_sgd", {"momentum": 0.9}),
    "nesterov": ("keras_sgd", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("keras_adagrad", {}),
    "rmsprop": ("keras_rmsprop", {}),
    "adam": ("keras_adam", {}),
    "adamw": ("keras_adamw", {}),
    "adamax": ("keras_adamax", {}),
    "nadam": ("keras_nadam", {}),
}
# The dense network: Dense's kernel_initializer="glorot_uniform" (its biases start at zero, as deepfit's do)
# and BatchNormalization's momentum=0.99 (0.01 in PyTorch's convention), epsilon=1e-3, biased moving variance.
KERAS_MODEL: dict[str, Any] = {"init": "glorot_uniform", "norm_momentum": 0.01, "norm_eps": 1e-3,
                               "norm_running_var": "biased"}
# Inputs as the chapter's code gives them to Keras: pixels / 255, not standardised.
KERAS_DATA: dict[str, Any] = {"standardize": False}
# Keras's ReduceLROnPlateau defaults (deepfit's are the chapter's arguments, factor 0.5 and patience 5).
KERAS_SCHEDULES: dict[str, dict[str, Any]] = {"performance": {"factor": 0.1, "patience": 10}}
# `model.fit` stops only at its epoch count: no early stopping unless a callback asks for it.
KERAS_TRAIN: dict[str, Any] = {"early_stopping": False}


def keras_enabled(data: dict[str, Any]) -> bool:
    """Whether `data` (a configuration as written) turns the Keras convention on."""
    section = data.get("conventions")
    return isinstance(section, dict) and section.get("keras") is True


def apply_keras(data: dict[str, Any], *, default_optimizer: str) -> dict[str, Any]:
    """A copy of configuration `data` with the Keras convention's values wherever `data` leaves a key unset.

    `default_optimizer` is the optimizer a configuration without `optimizer.name` trains with (config.py's
    default), which the convention replaces by its Keras form too. A section that is not a table is left for
    validation to report.
    """
    out = copy.deepcopy(data)
    _fill(out, "model", {} if _section(out, "model").get("factory") is not None else KERAS_MODEL)
    _fill(out, "data", KERAS_DATA)
    _fill(out, "train", KERAS_TRAIN)
    optimizer = _section(out, "optimizer")
    name = optimizer.get("name", default_optimizer)
    name = _OPTIMIZER_SPELLINGS.get(_spelling(name)) if isinstance(name, str) else None
    if name is not None:  # an unknown name is left for validation to name
        keras_name, implied = KERAS_OPTIMIZERS[name]
        out["optimizer"] = {**implied, **optimizer, "name": keras_name}
    schedule = _section(out, "schedule")
    if schedule.get("name") in KERAS_SCHEDULES:
        _fill(out, "schedule", KERAS_SCHEDULES[schedule["name"]])
    if schedule.get("name") in ("piecewise", "piecewise_constant") and schedule.get("interval", "step") == "step":
        # Keras's PiecewiseConstantDecay acts on steps; an epoch function (LearningRateScheduler) is the user's
        _fill(out, "schedule", {"inclusive": True})
    return out


def _spelling(name: str) -> str:
    """A name as the registries compare it: `Nadam`, `n-adam` and `nadam` are one (registry.py)."""
    return name.replace("_", "").replace("-", "").replace(" ", "").lower()


# Every spelling of the optimizers above, the registry's alias `nag` included; read without importing torch.
_OPTIMIZER_SPELLINGS = {_spelling(n): n for n in KERAS_OPTIMIZERS} | {"nag": "nesterov"}


def _section(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _fill(data: dict[str, Any], key: str, values: dict[str, Any]) -> None:
    """Set each of `values` in section `key` of `data` where the section does not set it already."""
    if not values or (key in data and not isinstance(data[key], dict)):
        return
    data[key] = {**values, **data.get(key, {})}
