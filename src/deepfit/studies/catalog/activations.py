"""Ten activation functions on the same deep dense net, over seeds: accuracy and time per epoch."""

from __future__ import annotations

import inspect

from deepfit.studies.spec import KERAS, STUDIES, Study
from deepfit.studies.timing import step_ms
from deepfit.studies.verdicts import better, ordering

_ACTIVATIONS = {
    "relu": "relu",
    "leaky_relu_0.2": {"name": "leaky_relu", "alpha": 0.2},
    "rrelu": "rrelu",
    "prelu": "prelu",
    "elu": "elu",
    "selu": "selu",
    "swish": "swish",
    "gelu": "gelu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
}


@STUDIES.register("activations", summary="relu, leaky_relu(0.2), rrelu, prelu, elu, selu, swish, gelu, tanh, sigmoid")
def activations() -> Study:
    """Claim: on a deep dense net, SELU > ELU > leaky ReLU variants > ReLU > tanh > sigmoid, as a rule of
    thumb; ReLU stays the fastest per epoch, and Swish/GELU cost more compute (Géron, ch. 11). Each
    activation gets its matching initializer (`init = "auto"`: He, LeCun for SELU, Glorot for tanh/sigmoid).
    The chapter gives no setting for the ranking; `--full` trains 20 hidden layers of 100 units (deep
    enough for the activations to matter, as in the chapter's deep-net discussion) on all 55,000 images,
    SGD with momentum 0.9 at lr 0.01, batch 32, 10 epochs. The variants train at once in groups, so the cost
    per epoch is measured on its own: `step_ms`, one forward and backward pass of each run's model.
    `--full` trains under the Keras convention (Keras's SGD, a Glorot-uniform output layer, inputs `X / 255`
    not standardised, as the chapter's code gives its nets); the leaky ReLU is the chapter's
    `LeakyReLU(alpha=0.2)` (handson-ml3 11_training_deep_neural_networks.ipynb cell 20), the rest of the
    setting goes beyond its code."""
    return Study(
        name="activations",
        claim=inspect.cleandoc(activations.__doc__ or ""),
        base={
            "model": {"hidden": [100] * 20, "init": "auto"},
            "optimizer": {"name": "sgd", "lr": 0.01, "momentum": 0.9},
            "train": {"batch_size": 32, "early_stopping": False},
        },
        variants={name: {"model": {"activation": spec}} for name, spec in _ACTIVATIONS.items()},
        seeds=3,
        reduced={"model": {"hidden": [100] * 8}, "data": {"subset": 4000}, "train": {"epochs": 3}},
        full={**KERAS, "train": {"epochs": 10}},
        evaluate=step_ms,
        metrics=("step_ms",),
        claims=(
            ordering("SELU > ELU > leaky ReLU > ReLU > tanh > sigmoid (validation accuracy)",
                     ["selu", "elu", "leaky_relu_0.2", "relu", "tanh", "sigmoid"]),
            better("ReLU costs less per step than Swish", "relu", "swish", metric="step_ms"),
            better("ReLU costs less per step than GELU", "relu", "gelu", metric="step_ms"),
            better("ReLU costs less per step than ELU", "relu", "elu", metric="step_ms"),
        ),
    )
