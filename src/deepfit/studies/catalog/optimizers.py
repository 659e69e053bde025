"""Faster optimizers on one deep dense net: SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam, AdaMax, Nadam, AdamW."""

from __future__ import annotations

from deepfit.studies.spec import KERAS, STUDIES, Study
from deepfit.studies.verdicts import better, similar

# The chapter's code (`build_and_train_model` in its notebook): every optimizer at Keras's lr 0.001, RMSProp
# with rho = 0.9, Adam-family betas (0.9, 0.999), AdamW with weight decay 1e-5.
LEARNING_RATES = {
    "sgd": {"name": "sgd", "lr": 0.001},
    "momentum": {"name": "momentum", "lr": 0.001, "momentum": 0.9},
    "nesterov": {"name": "nesterov", "lr": 0.001, "momentum": 0.9},
    "adagrad": {"name": "adagrad", "lr": 0.001},
    "rmsprop": {"name": "rmsprop", "lr": 0.001, "rho": 0.9},
    "adam": {"name": "adam", "lr": 0.001},
    "adamax": {"name": "adamax", "lr": 0.001},
    "nadam": {"name": "nadam", "lr": 0.001},
    "adamw": {"name": "adamw", "lr": 0.001, "weight_decay": 1e-5},
}


@STUDIES.register("optimizers", summary="9 optimizers on the chapter's 3x100 ReLU net: val acc, epochs to target")
def optimizers() -> Study:
    """Claim: momentum optimizers and the adaptive ones (RMSProp, Adam and its variants) reach a target
    accuracy in far fewer epochs than plain SGD on a deep dense net; AdaGrad slows down as its
    accumulator grows, and the Adam family, Nesterov and momentum end close together (Géron, ch. 11:
    "adaptive optimization methods ... converge fast"; Wilson et al. 2017 caution that they may generalise
    worse). The setting is the chapter's code: 3 hidden layers of 100 ReLU units with He init, every
    optimizer at lr 0.001 (see LEARNING_RATES), batch 32, inputs scaled to [0, 1] and not standardised;
    `--full` trains on all 55,000 images for the chapter's 10 epochs, with the target 0.85 (the chapter
    shows only curves, no figure); "close together" is read as within 0.01 validation accuracy. `--full` is
    the chapter's code under the Keras convention: handson-ml3 11_training_deep_neural_networks.ipynb cell
    78 (`build_and_train_model`: three `Dense(100, activation="relu", kernel_initializer="he_normal")`, a
    Glorot-uniform softmax layer, `X / 255`, `fit(epochs=10)`, batch 32) with the optimizers of cells 79-104,
    each in its Keras form (`keras_sgd`, `keras_rmsprop`, ...: Keras's epsilons and update equations).
    Not matched: the code validates on the last 5,000 images (`X_train_full[-5000:]`), deepfit on the first
    5,000."""
    return Study(
        name="optimizers",
        claim=optimizers.__doc__ or "",
        base={
            "model": {"hidden": [100] * 3, "activation": "relu", "init": "he_normal"},
            "data": {"standardize": False},
            "train": {"batch_size": 32, "early_stopping": False},
        },
        variants={name: {"optimizer": opt} for name, opt in LEARNING_RATES.items()},
        seeds=3,
        # ~4 s per run on 2 idle CPU cores (`deepfit study optimizers --seeds 1 --variants sgd,nadam`: 7.9 s),
        # so 27 runs take about 2 minutes
        reduced={"data": {"subset": 5000}, "train": {"epochs": 6}},
        full={**KERAS, "train": {"epochs": 10}},
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
