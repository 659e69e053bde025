"""Batch norm before vs after the activation vs none: epochs to a target accuracy, and time per epoch."""

from __future__ import annotations

import inspect

from deepfit.studies.spec import KERAS, STUDIES, Study
from deepfit.studies.timing import step_ms
from deepfit.studies.verdicts import better, similar


@STUDIES.register("batchnorm", summary="batch norm none vs before vs after the activation: epochs to target")
def batchnorm() -> Study:
    """Claim: batch norm makes a deep net reach a given accuracy in fewer epochs, at a higher cost per
    epoch; before or after the activation matters little, so try both (Ioffe & Szegedy 2015; Géron,
    ch. 11), and it tolerates a larger learning rate (`*_lr0.1`: ten times the base SGD rate).
    Reported: `epochs_to_target` (first epoch with val_acc >= target) and `step_ms`, one forward and
    backward pass of each run's model on its own (runs that train at once share their epoch time). The
    chapter gives no figure, and its code trains its batch-norm nets (300-100, SGD at Keras's default
    0.01) for 2 epochs only to show that they run, which is too shallow and too short to show the claim
    about deep nets; `--full` therefore trains 10 hidden layers of 100 ReLU units on all 55,000 images,
    with the chapter's SGD lr 0.01 and batch 32, for 10 epochs, with the target 0.85; "matters little" is
    read as within 0.005. `--full` trains under the Keras convention, so each batch-norm layer is the
    chapter's `BatchNormalization()` (handson-ml3 11_training_deep_neural_networks.ipynb cells 48 and 54:
    momentum 0.99, epsilon 1e-3, the biased batch variance in the moving average), the output layer
    Glorot-uniform and the inputs `X / 255` not standardised, as there; the depth, epochs and the `*_lr0.1`
    variants go beyond the chapter's code. Not matched: the code validates on the last 5,000 images,
    deepfit on the first 5,000."""
    return Study(
        name="batchnorm",
        claim=inspect.cleandoc(batchnorm.__doc__ or ""),
        base={
            "model": {"hidden": [100] * 10, "activation": "relu", "init": "he_normal"},
            "optimizer": {"name": "sgd", "lr": 0.01},
            "train": {"batch_size": 32, "early_stopping": False},
        },
        variants={
            "none": {"model": {"norm": "none"}},
            "before": {"model": {"norm": "before"}},
            "after": {"model": {"norm": "after"}},
            # BN's other promise: a much larger learning rate stays trainable
            "none_lr0.1": {"model": {"norm": "none"}, "optimizer": {"lr": 0.1}},
            "before_lr0.1": {"model": {"norm": "before"}, "optimizer": {"lr": 0.1}},
        },
        seeds=3,
        reduced={"data": {"subset": 10000}, "train": {"epochs": 6}},
        full={**KERAS, "train": {"epochs": 10}},
        target=0.85,
        reduced_target=0.83,
        evaluate=step_ms,
        metrics=("step_ms",),
        claims=(
            better("batch norm before the activation reaches the target in fewer epochs", "before", "none",
                   metric="epochs_to_target"),
            better("batch norm after the activation reaches the target in fewer epochs", "after", "none",
                   metric="epochs_to_target"),
            better("batch norm costs more per step", "none", "before", metric="step_ms"),
            similar("before or after the activation matters little", "before", "after", margin=0.005),
            better("at lr 0.1 batch norm trains better than no normalization", "before_lr0.1", "none_lr0.1"),
        ),
    )
