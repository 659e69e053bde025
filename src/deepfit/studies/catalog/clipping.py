"""Gradient clipping at a learning rate that diverges without it: none vs by value vs by norm."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from deepfit.report import plot_metric_bands
from deepfit.studies.spec import KERAS, STUDIES, Study
from deepfit.studies.verdicts import better


def divergence(result: Any) -> dict[str, float]:
    """1.0 when the run diverged (its training loss became non-finite, and it stopped), else 0.0."""
    return {"diverged": 1.0 if result.metrics.get("stopped") == "diverged" else 0.0}


def plot_clipping(res: Any, plots: Path) -> None:
    """Mean global gradient norm before clipping and fraction of steps clipped, per epoch."""
    for metric in ("grad_norm", "clip_fraction"):
        plot_metric_bands(
            res.histories,
            metric,
            plots / f"{metric}.png",
            title=f"{res.study.name}: {metric} per epoch (mean, band over seeds)",
        )


@STUDIES.register("clipping", summary="SGD at a diverging lr: clipping none vs value vs norm vs global norm")
def clipping() -> Study:
    """Claim: at a learning rate where plain SGD diverges (NaN loss), clipping by global norm keeps
    training stable because it keeps the gradient's direction, while clipping by value (threshold 1.0)
    can change the direction (Pascanu et al. 2013; Géron, ch. 11). `diverged` is the fraction of seeds
    whose final training loss is not finite; their accuracies are reported as measured. The chapter gives
    no figure; `--full` trains 10 hidden layers of 100 ReLU units on all 55,000 images, SGD with
    momentum 0.9 at lr 0.1, batch 32, 5 epochs, under the Keras convention (Keras's SGD, Glorot-uniform output
    layer, inputs `X / 255` not standardised). `value` and `norm` are the chapter's `SGD(clipvalue=1.0)` and
    `SGD(clipnorm=1.0)` (handson-ml3 11_training_deep_neural_networks.ipynb cells 58-59; Keras's clipnorm
    clips each variable's gradient by its own norm); `global_norm` is Keras's `global_clipnorm`. The net and
    learning rate go beyond the chapter's code, which only compiles these optimizers."""
    return Study(
        name="clipping",
        claim=inspect.cleandoc(clipping.__doc__ or ""),
        base={
            "model": {"hidden": [100] * 10, "activation": "relu", "init": "he_normal"},
            "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
            "train": {"batch_size": 32, "early_stopping": False},
        },
        variants={
            "none": {"clip": {"name": "none"}},
            "value": {"clip": {"name": "value", "threshold": 1.0}},
            "norm": {"clip": {"name": "norm", "threshold": 1.0}},
            "global_norm": {"clip": {"name": "global_norm", "threshold": 1.0}},
        },
        seeds=3,
        reduced={"data": {"subset": 3000}, "train": {"epochs": 3}},
        full={**KERAS, "train": {"epochs": 5}},
        evaluate=divergence,
        metrics=("diverged",),
        report=plot_clipping,
        claims=(
            better("clipping by global norm diverges less often than no clipping", "global_norm", "none",
                   metric="diverged"),
            better("clipping by global norm trains better than no clipping", "global_norm", "none"),
            better("clipping by global norm trains better than clipping by value", "global_norm", "value"),
        ),
    )
