"""Faster optimizers on one deep dense net: SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam, AdaMax, Nadam, AdamW."""

from __future__ import annotations

from deepfit.studies.spec import STUDIES, Study
from deepfit.studies.verdicts import better, similar

# Learning rates: each optimizer's usual default (torch's, or the paper's where torch has none for the
# variant). SGD-family 0.01; RMSProp 0.001 with Keras's rho = 0.9; Adam/AdamW 0.001; AdaMax and Nadam 0.002
# (Kingma & Ba 2015; Dozat 2016); AdamW's decoupled weight decay 0.01 is torch's default.
LEARNING_RATES = {
    "sgd": {"name": "sgd", "lr": 0.01},
    "momentum": {"name": "momentum", "lr": 0.01},
    "nesterov": {"name": "nesterov", "lr": 0.01},
    "adagrad": {"name": "adagrad", "lr": 0.01},
    "rmsprop": {"name": "rmsprop", "lr": 0.001, "rho": 0.9},
    "adam": {"name": "adam", "lr": 0.001},
    "adamax": {"name": "adamax", "lr": 0.002},
    "nadam": {"name": "nadam", "lr": 0.002},
    "adamw": {"name": "adamw", "lr": 0.001, "weight_decay": 0.01},
}


@STUDIES.register("optimizers", summary="9 optimizers on a 5x100 ReLU net: curves, final val acc, epochs to a target")
def optimizers() -> Study:
    """Claim: momentum optimizers and the adaptive ones (RMSProp, Adam and its variants) reach a target
    accuracy in far fewer epochs than plain SGD on a deep dense net; AdaGrad slows down as its
    accumulator grows, and the Adam family, Nesterov and momentum end close together (Géron, ch. 11:
    "adaptive optimization methods ... converge fast"; Wilson et al. 2017 caution that they may generalise
    worse). Each optimizer runs at its usual default learning rate (see LEARNING_RATES), not a tuned one.
    The chapter gives no setting; `--full` trains 5 hidden layers of 100 ReLU units on all 55,000 images,
    batch 32, 20 epochs, target 0.85; "close together" is read as within 0.01 validation accuracy."""
    return Study(
        name="optimizers",
        claim=optimizers.__doc__ or "",
        base={
            "model": {"hidden": [100] * 5, "activation": "relu", "init": "he_normal"},
            "train": {"batch_size": 32, "early_stopping": False},
        },
        variants={name: {"optimizer": opt} for name, opt in LEARNING_RATES.items()},
        seeds=3,
        # ~4 s per run on 2 idle CPU cores (`deepfit study optimizers --seeds 1 --variants sgd,nadam`: 7.9 s),
        # so 27 runs take about 2 minutes
        reduced={"data": {"subset": 5000}, "train": {"epochs": 6}},
        full={"train": {"epochs": 20}},
        target=0.85,
        reduced_target=0.8,  # 6 epochs on 5,000 images: 0.85 is out of reach for every optimizer
        claims=(
            *(better(f"{name} reaches the target in fewer epochs than SGD", name, "sgd", metric="epochs_to_target")
              for name in ("momentum", "nesterov", "rmsprop", "adam", "nadam")),
            better("Adam ends above AdaGrad, whose accumulator slows it down", "adam", "adagrad"),
            similar("Adam and Nadam end close together", "adam", "nadam", margin=0.01),
            similar("Nesterov and momentum end close together", "nesterov", "momentum", margin=0.01),
            similar("Adam and momentum end close together", "adam", "momentum", margin=0.01),
        ),
    )
