"""Learning-rate schedules on the chapter's 3x100 ReLU net, from constant to 1cycle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepfit.report import plot_metric_bands
from deepfit.studies.spec import KERAS, STUDIES, Study
from deepfit.studies.verdicts import better, ordering

# Every variant trains plain SGD (Keras's SGD, no momentum, as the chapter's code) from lr0 = 0.01, on inputs
# scaled to [0, 1] and not standardised, for 25 epochs, at the batch size of its chapter cell (handson-ml3
# 11_training_deep_neural_networks.ipynb): power = cell 111's InverseTimeDecay(0.01, decay_steps=10_000,
# decay_rate=1), i.e. s = 10,000 steps, batch 32; exponential = cells 122-124's exponential_decay_fn(lr0=0.01,
# s=20) per epoch, batch 32; piecewise = cells 136-138's piecewise_constant_fn (0.01 / 0.005 / 0.001 from
# epochs 5 and 15), batch 32, with SGD where cell 138 compiles Nadam, as every other variant; performance =
# cell 143's ReduceLROnPlateau(factor=0.5, patience=5), batch 32; 1cycle = cell 160's OneCycleScheduler(
# max_lr=0.1) with batch 128, which sets the learning rate only (`cycle_momentum = false`; its phases end
# within a step of deepfit's). The epoch count is cells 138-160's n_epochs = 25 for all (cells 113 and 124
# train 10 and 20). `one_cycle_momentum` is deepfit's 1cycle, cycling SGD's momentum 0.95 -> 0.85 -> 0.95
# too (Smith 2018), beyond the chapter's code.
SCHEDULE_VARIANTS: dict[str, dict[str, Any]] = {
    "constant": {"schedule": {"name": "constant"}, "train": {"batch_size": 32}},
    "power": {"schedule": {"name": "power", "s": 10_000, "c": 1.0, "interval": "step"}, "train": {"batch_size": 32}},
    "exponential": {"schedule": {"name": "exponential", "s": 20, "interval": "epoch"}, "train": {"batch_size": 32}},
    "piecewise": {
        "schedule": {"name": "piecewise", "boundaries": [5, 15], "values": [0.01, 0.005, 0.001], "interval": "epoch"},
        "train": {"batch_size": 32},
    },
    "performance": {"schedule": {"name": "performance", "factor": 0.5, "patience": 5}, "train": {"batch_size": 32}},
    "one_cycle": {"schedule": {"name": "one_cycle", "max_lr": 0.1, "interval": "step", "cycle_momentum": False},
                  "train": {"batch_size": 128}},
    "one_cycle_momentum": {"schedule": {"name": "one_cycle", "max_lr": 0.1, "interval": "step"},
                           "train": {"batch_size": 128}},
}


def plot_lr(res: Any, plots: Path) -> None:
    """The learning rate each variant used, per epoch (end-of-epoch value)."""
    plot_metric_bands(res.histories, "lr", plots / "lr.png", title=f"{res.study.name}: learning rate per epoch")


@STUDIES.register("schedules", summary="lr schedules on a 3x100 ReLU net: constant .. 1cycle, final val acc")
def schedules() -> Study:
    """Claim: on Fashion-MNIST with a 3x100 ReLU net, 25 epochs, plain SGD, scheduling beats a constant
    rate and 1cycle does best; the chapter's single Keras runs give validation accuracy 1cycle 0.892,
    reduce-on-plateau 0.887, exponential 0.881 (Géron, ch. 11). The reduced default trains fewer epochs on
    a subset, so its absolute numbers are lower; compare the ordering. `--full` is the chapter's code
    under the Keras convention (cell 78's `build_model`: three `Dense(100, activation="relu",
    kernel_initializer="he_normal")`, `X / 255`; each schedule's cell in SCHEDULE_VARIANTS) on all 55,000
    images. Not matched: the code validates on the last 5,000 images, deepfit on the first 5,000."""
    return Study(
        name="schedules",
        claim=(schedules.__doc__ or "").strip(),
        base={
            "model": {"hidden": [100, 100, 100], "activation": "relu", "init": "he_normal"},
            "optimizer": {"name": "sgd", "lr": 0.01},
            "data": {"standardize": False},
            "train": {"early_stopping": False},
        },
        variants=SCHEDULE_VARIANTS,
        seeds=3,
        # 0.21 s per epoch on 2 CPU cores at batch 128 (`deepfit study schedules --seeds 1`, before the variants
        # took their cells' batch sizes); batch 32 takes about four times as many steps
        reduced={"data": {"subset": 20000}, "train": {"epochs": 10}},
        full={**KERAS, "train": {"epochs": 25}},
        target=0.85,
        report=plot_lr,
        claims=(
            better("1cycle beats a constant learning rate", "one_cycle", "constant", chapter="0.892 (1cycle)"),
            better("exponential decay beats a constant learning rate", "exponential", "constant",
                   chapter="0.881 (exponential)"),
            better("performance scheduling beats a constant learning rate", "performance", "constant",
                   chapter="0.887 (reduce on plateau)"),
            ordering("1cycle > performance > exponential", ["one_cycle", "performance", "exponential"],
                     chapter="0.892 > 0.887 > 0.881 (one Keras run each)"),
        ),
    )
