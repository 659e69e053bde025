"""Géron's transfer-learning experiment (ch. 11): Fashion-MNIST task A -> task B with 200 labels."""

from __future__ import annotations

import functools
from typing import Any

from deepfit.config import deep_merge
from deepfit.studies.sourced import pretrained_source, run_with_sources, trained_source
from deepfit.studies.spec import KERAS, STUDIES, Study
from deepfit.studies.verdicts import better

# Géron's model A (handson-ml2 11_training_deep_neural_networks.ipynb cells 79-81): five
# `Dense(n_hidden, activation="selu")` layers, Keras's Glorot-uniform kernels (no kernel_initializer), on
# `X / 255.0`, SGD at lr 1e-3 for 20 epochs. The reduced run keeps deepfit's variation below (LeCun normal).
NETWORK = {"hidden": [300, 100, 50, 50, 50], "activation": "selu"}
LECUN = {"model": {"init": "lecun_normal"}}
# deepfit's variation: LeCun normal init, as self-normalisation asks, on standardised inputs.
LECUN_STANDARDISED = {"model": {"init": "lecun_normal"}, "data": {"standardize": True}}
SGD = {"name": "sgd", "lr": 1e-3}
# The chapter's split (cell 20: X_valid = X_train_full[:5000]): of the first 5,000 training images, 986 are
# sandals or shirts (task B's validation rows) and 4,014 are task A's.
VALID_A, VALID_B = 4014, 986
MODEL_A_BASE = {
    "data": {"name": "fashion_mnist_a"},
    "model": NETWORK,
    "optimizer": SGD,
    "train": {"epochs": 20, "early_stopping": False},
}
MODEL_A_REDUCED = {"data": {"subset": 10000}, "train": {"epochs": 5}}
MODEL_A_FULL = {**KERAS, "data": {"valid": VALID_A}}
MODEL_A = trained_source("model_a", base=MODEL_A_BASE, reduced=deep_merge(MODEL_A_REDUCED, LECUN), full=MODEL_A_FULL)
MODEL_A_LECUN = trained_source("model_a_lecun", base=MODEL_A_BASE,
                               reduced=deep_merge(MODEL_A_REDUCED, LECUN_STANDARDISED),
                               full=deep_merge(MODEL_A_FULL, LECUN_STANDARDISED))
# The auxiliary task: a siamese encoder of the same shape on same/different-class pairs of task A's images.
_PAIRS = {
    "base": {
        "data": {"name": "fashion_mnist_a"},
        "model": NETWORK,
        "optimizer": {"name": "nadam", "lr": 1e-3},
        "train": {"epochs": 10, "early_stopping": False},
    },
    "reduced": {"data": {"subset": 10000}, "train": {"epochs": 3}},
}
SIAMESE = pretrained_source("siamese", "siamese", **_PAIRS, options={"loss": "contrastive", "margin": 5.0})
SIAMESE_BINARY = pretrained_source("siamese_binary", "siamese", **_PAIRS, options={"loss": "binary"})
# B on A as the chapter's code does it: 4 epochs with the reused layers frozen, then 16 with every layer
# unfrozen, both stages compiled with SGD(learning_rate=1e-3): the same rate throughout.
ON_A = {"source": "@model_a", "freeze_epochs": 4, "unfreeze": "all", "lr_factor": 1.0, "head_lr_factor": 1.0}
# deepfit's own variation: after unfreezing, every layer (the head too) at lr / 10.
ON_A_DIV10 = {**ON_A, "lr_factor": 0.1, "head_lr_factor": 0.1}


def _sample_per_seed(seed: int) -> dict[str, Any]:
    """Each seed draws its own 200 training images of task B (and its own initialisation)."""
    return {"data": {"options": {"sample_seed": seed}}}


@STUDIES.register("transfer", summary="task A -> task B (200 labels): scratch vs reused layers, reuse sweep")
def transfer() -> Study:
    """Claim: reusing the layers of a network trained on Fashion-MNIST's 8 other classes (task A) raises
    the test accuracy of shirt-vs-sandal with 200 labels (task B) from 97.05% to 99.40% (Géron, ch. 11,
    2nd edition, one run; he warns the gain depends on the seed). Here over seeds, each with its own
    200-image sample, with the paired difference from training B from scratch. `scratch` and `on_a` are
    the chapter's code (handson-ml2 11_training_deep_neural_networks.ipynb): model B (cells 83-85) and
    model A (cells 79-81) are five `Dense(n_hidden, activation="selu")` layers with Keras's Glorot-uniform
    kernels on `X / 255.0`, SGD lr 1e-3 for 20 epochs; `on_a` (cells 89-91) reuses all 5 of A's layers,
    frozen 4 epochs, then 16 epochs with everything unfrozen, SGD lr 1e-3 throughout; `on_a_frozen` never
    unfreezes them. deepfit's own variations: `scratch_lecun` and `on_a_lecun` use LeCun normal init on
    standardised inputs (model A too); `on_a_div10` unfreezes at lr / 10 (every layer and the head), and
    the `*_lr1e-2` variants repeat at 10x the rate (with the lr / 10 unfreezing), compared with
    `scratch_lr1e-2`: a sweep over how many of A's layers are reused (`on_a_reuse{k}_lr1e-2`), and encoders
    pretrained on the auxiliary task "same class or not?" over pairs of task A's images (`siamese`:
    contrastive max-margin loss; `siamese_binary`: a same/different head). `--full` is the chapter's code
    under the Keras convention, with its split (cell 20: the first 5,000 training images validate, 986 of
    them task B's and 4,014 task A's); model A trains on all of task A's other training images, task B
    keeps its 200 labels. Not matched: each seed draws its own 200 images of task B, where the code takes
    the first 200 (`X_train_B[:200]`). The reduced run uses LeCun normal init for every variant."""
    fast = {"optimizer": {"lr": 1e-2}}  # 140 SGD steps at lr 1e-3 barely train a new head on frozen features
    sweep = {f"on_a_reuse{k}_lr1e-2": {**fast, "transfer": {**ON_A_DIV10, "reuse": k}} for k in range(1, 5)}
    auxiliary = {
        f"{name}_lr1e-2": {**fast, "transfer": {**ON_A_DIV10, "source": f"@{name}"}}
        for name in ("siamese", "siamese_binary")
    }
    at_fast = ["on_a_lr1e-2", "on_a_frozen_lr1e-2", *sweep, *auxiliary]
    return Study(
        name="transfer",
        claim=(transfer.__doc__ or "").strip(),
        base={
            "data": {
                "name": "fashion_mnist_b",
                "task": "binary",
                "subset": 200,
                "valid": 1000,
                "options": {"holdout": 1000},
            },  # valid 1000: about Géron's 986 validation images of task B (`--full`: 986)
            "model": NETWORK,
            "optimizer": SGD,
            "train": {"epochs": 20, "early_stopping": False},
        },
        variants={
            "scratch": {},
            "on_a": {"transfer": ON_A},
            "scratch_lecun": LECUN_STANDARDISED,
            "on_a_lecun": {**LECUN_STANDARDISED, "transfer": {**ON_A, "source": "@model_a_lecun"}},
            "on_a_frozen": {"transfer": {**ON_A, "unfreeze": "none"}},
            "on_a_div10": {"transfer": ON_A_DIV10},
            "scratch_lr1e-2": fast,
            "on_a_lr1e-2": {**fast, "transfer": ON_A_DIV10},
            "on_a_frozen_lr1e-2": {**fast, "transfer": {**ON_A, "unfreeze": "none"}},
            **sweep,
            **auxiliary,
        },
        seeds=5,
        reduced=LECUN,
        full={**KERAS, "data": {"valid": VALID_B, "options": {"holdout": VALID_B}}},
        seed_config=_sample_per_seed,
        run=functools.partial(
            run_with_sources,
            baseline="scratch",
            baselines={name: "scratch_lr1e-2" for name in at_fast},
            sources={"model_a": MODEL_A, "model_a_lecun": MODEL_A_LECUN, "siamese": SIAMESE,
                     "siamese_binary": SIAMESE_BINARY},
            source_only=("data.subset",),
        ),
        claims=(
            better("reusing model A's layers raises task B's test accuracy", "on_a", "scratch", metric="test_acc",
                   chapter="0.9705 from scratch -> 0.9940 reusing A (one run)"),
            better("reusing A's layers frozen throughout raises task B's test accuracy", "on_a_frozen", "scratch",
                   metric="test_acc"),
            better("at lr 1e-2, reusing A's layers raises task B's test accuracy", "on_a_lr1e-2", "scratch_lr1e-2",
                   metric="test_acc"),
        ),
    )
