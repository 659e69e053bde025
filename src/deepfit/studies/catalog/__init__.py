"""One module per study; importing this package registers them all."""

from deepfit.studies.catalog import (
    activations,
    batchnorm,
    clipping,
    guidelines,
    mc_dropout,
    optimizers,
    pretraining,
    reference,
    regularization,
    schedules,
    transfer,
    vanishing,
)

__all__ = [
    "activations",
    "batchnorm",
    "clipping",
    "guidelines",
    "mc_dropout",
    "optimizers",
    "pretraining",
    "reference",
    "regularization",
    "schedules",
    "transfer",
    "vanishing",
]
