"""Named starting configurations: the reference network and the chapter's guideline defaults.

`configs/<name>.toml` holds each one with comments (a test checks that both resolve to the same config);
`deepfit train --preset NAME` starts from one, and `deepfit train` without `--config` starts from
`DEFAULT_TRAIN_PRESET`.
"""

from __future__ import annotations

from typing import Any

from deepfit.registry import Registry

PRESETS: Registry[dict[str, Any]] = Registry("preset")

# The self-normalizing guideline net replaced the reference as the default of `deepfit train`: on full
# Fashion-MNIST over 3 seeds it had the best validation accuracy (docs/studies-reduced.md, "Guideline defaults").
DEFAULT_TRAIN_PRESET = "guidelines_selu"

_NADAM = {"name": "nadam", "lr": 1e-3}
_EXPONENTIAL = {"name": "exponential", "interval": "epoch", "s": 20}
_EARLY_STOPPING = {"monitor": "val_acc", "patience": 8, "restore_best": True}  # see docs/studies-reduced.md


@PRESETS.register("reference", summary="784-300-100-10 ReLU/He, Nadam 1e-3, batch 32, early stopping (ch. 10)")
def reference() -> dict[str, Any]:
    """The chapter's reference network, spelled out as configs/reference.toml has it (the network is also
    what an empty config builds: `ModelSpec`'s defaults)."""
    return {
        "name": "reference",
        "model": {"hidden": [300, 100], "activation": "relu", "init": "he_normal", "norm": "none", "dropout": 0.0},
        "optimizer": dict(_NADAM),
        "train": {"early_stopping": {"monitor": "val_loss", "patience": 5, "min_delta": 0.0, "restore_best": True}},
    }


@PRESETS.register("guidelines", summary="512-256-128 ELU/He + batch norm + dropout 0.2, Nadam, exponential schedule")
def guidelines() -> dict[str, Any]:
    """Géron's practical default for a deep dense net (ch. 11, "Summary and Practical Guidelines")."""
    return {
        "name": "guidelines",
        "model": {"hidden": [512, 256, 128], "activation": "elu", "init": "he_normal", "norm": "before",
                  "dropout": 0.2},
        "optimizer": dict(_NADAM),
        "schedule": dict(_EXPONENTIAL),
        "train": {"epochs": 60, "early_stopping": dict(_EARLY_STOPPING)},
    }


@PRESETS.register("guidelines_selu", summary="512-256-128 SELU/LeCun + alpha dropout 0.1, self-normalizing")
def guidelines_selu() -> dict[str, Any]:
    """The self-normalizing variant of the guidelines: SELU, LeCun normal init, alpha dropout, no batch norm."""
    return {
        "name": "guidelines-selu",
        "model": {"hidden": [512, 256, 128], "activation": "selu", "init": "lecun_normal", "norm": "none",
                  "dropout": 0.1, "dropout_kind": "alpha"},
        "optimizer": dict(_NADAM),
        "schedule": dict(_EXPONENTIAL),
        "train": {"epochs": 60, "early_stopping": dict(_EARLY_STOPPING)},
    }
