"""The chapter's practical guidelines as a study: the reference net against the two guideline configs."""

from __future__ import annotations

from typing import Any

from deepfit.presets import PRESETS
from deepfit.studies.spec import STUDIES, Study
from deepfit.studies.verdicts import better

# What a preset sets about the run rather than the network and its training: the study decides those.
_RUN_KEYS = {"name", "out"}
_TRAIN_KEYS = {"epochs", "seed", "device"}


def _preset(name: str) -> dict[str, Any]:
    """A preset's network, data, optimizer, schedule and early stopping, without its epochs, seed and name."""
    data = {k: v for k, v in PRESETS.build(name).items() if k not in _RUN_KEYS}
    data["train"] = {k: v for k, v in data.get("train", {}).items() if k not in _TRAIN_KEYS}
    return data


@STUDIES.register("guidelines", summary="reference net vs the guideline configs (ELU+BN+dropout, SELU), early stopping")
def guidelines() -> Study:
    """Claim: the chapter's practical default configuration (He init, ELU, batch norm, dropout, Nadam, an
    exponential schedule, early stopping) and its self-normalizing variant (SELU, LeCun init, alpha
    dropout, standardised inputs) train a better Fashion-MNIST classifier than the reference 300-100 ReLU
    net (Géron, ch. 11, "Summary and Practical Guidelines"). The variants are the presets `reference`,
    `guidelines` and `guidelines_selu` (configs/*.toml) as they are, with at most 60 epochs and each
    preset's own early stopping (the reference stops on val_loss, the guideline configs on val_acc, and
    all restore their best weights); the chapter gives no figure for them, and no code: these are deepfit's
    configs, so `--full` keeps deepfit's conventions rather than the Keras convention."""
    return Study(
        name="guidelines",
        claim=(guidelines.__doc__ or "").strip(),
        base={"train": {"epochs": 60}},
        variants={"reference": _preset("reference"), "guidelines": _preset("guidelines"),
                  "guidelines_selu": _preset("guidelines_selu")},
        seeds=3,
        reduced={"data": {"subset": 5000}, "train": {"epochs": 8}},
        full={},
        claims=(
            better("the guideline config beats the reference net on test accuracy", "guidelines", "reference",
                   metric="test_acc"),
            better("the self-normalizing guideline config beats the reference net on test accuracy",
                   "guidelines_selu", "reference", metric="test_acc"),
        ),
    )
