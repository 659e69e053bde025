"""Unsupervised pretraining with scarce labels (Géron, ch. 11): random init vs autoencoder, RBM and GAN layers."""

from __future__ import annotations

import functools

from deepfit.studies.sourced import pretrained_source, run_with_sources
from deepfit.studies.spec import STUDIES, Study
from deepfit.studies.verdicts import better

HIDDEN = [300, 100]
RELU = {"hidden": HIDDEN, "activation": "relu", "init": "he_normal"}
SIGMOID = {"hidden": HIDDEN, "activation": "sigmoid", "init": "glorot_uniform"}
UNLABELLED = {"train": {"epochs": 10, "batch_size": 64, "early_stopping": False}}  # per layer


SOURCES = {
    "autoencoder": pretrained_source(
        "autoencoder",
        "autoencoder",
        {"model": RELU, **UNLABELLED},
        {"data": {"subset": 10000}, "train": {"epochs": 3}},
        options={"noise": "gaussian", "noise_level": 0.2},
    ),
    "rbm": pretrained_source(
        "rbm",
        "rbm",
        {"model": SIGMOID, "data": {"standardize": False}, "optimizer": {"name": "sgd", "lr": 0.05}, **UNLABELLED},
        {"data": {"subset": 10000}, "train": {"epochs": 3}},
        options={"k": 1},
    ),
    # the discriminator of a GAN; Adam with beta1 = 0.5 as Radford et al. (2016) train theirs
    "gan": pretrained_source(
        "gan",
        "gan",
        {"model": RELU, "optimizer": {"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999]}, **UNLABELLED},
        {"data": {"subset": 10000}, "train": {"epochs": 3}},
    ),
}
FROZEN = {"freeze_epochs": 20, "unfreeze": "none"}  # frozen throughout (20 = the epochs): only the head trains
FINE_TUNED = {"freeze_epochs": 3, "unfreeze": "all", "lr_factor": 1.0}


@STUDIES.register(
    "pretraining", summary="500 labels: random init vs autoencoder / RBM / GAN pretraining, frozen or tuned"
)
def pretraining() -> Study:
    """Claim: with few labels and plenty of unlabelled data, layers pretrained without labels (greedy
    autoencoders, stacked RBMs as in Hinton et al. 2006, or a GAN's discriminator) give a better start than
    random ones, frozen or fine-tuned (Géron, ch. 11, "Unsupervised Pretraining"). Labels here: the first
    500 training images; the pretraining sees all training images without their labels (`--subset` limits
    those). The RBM
    variants are compared with random init of the same sigmoid network (`scratch_sigmoid`). The chapter
    gives no figure; `--full` pretrains on all 55,000 training images, 10 epochs per layer (the GAN: 10
    epochs for both layers at once). The chapter has no code for it, so `--full` keeps deepfit's conventions
    (the pretrained layers and the runs that reuse them must see the same input scaling)."""
    return Study(
        name="pretraining",
        claim=(pretraining.__doc__ or "").strip(),
        base={"data": {"subset": 500}, "model": RELU, "train": {"epochs": 20, "early_stopping": False}},
        variants={
            "scratch": {},
            "autoencoder_frozen": {"transfer": {"source": "@autoencoder", **FROZEN}},
            "autoencoder_tuned": {"transfer": {"source": "@autoencoder", **FINE_TUNED}},
            "scratch_sigmoid": {"model": SIGMOID},
            "rbm_frozen": {"transfer": {"source": "@rbm", **FROZEN}},
            "rbm_tuned": {"transfer": {"source": "@rbm", **FINE_TUNED}},
            "gan_frozen": {"transfer": {"source": "@gan", **FROZEN}},
            "gan_tuned": {"transfer": {"source": "@gan", **FINE_TUNED}},
        },
        seeds=3,
        run=functools.partial(
            run_with_sources,
            sources=SOURCES,
            baseline="scratch",
            source_only=("data.subset",),
            baselines={"rbm_frozen": "scratch_sigmoid", "rbm_tuned": "scratch_sigmoid"},
        ),
        claims=(
            better("autoencoder-pretrained layers, fine-tuned, beat random init", "autoencoder_tuned", "scratch",
                   metric="test_acc"),
            better("autoencoder-pretrained layers, frozen, beat random init", "autoencoder_frozen", "scratch",
                   metric="test_acc"),
            better("RBM-pretrained layers, fine-tuned, beat random init of the sigmoid net", "rbm_tuned",
                   "scratch_sigmoid", metric="test_acc"),
            better("RBM-pretrained layers, frozen, beat random init of the sigmoid net", "rbm_frozen",
                   "scratch_sigmoid", metric="test_acc"),
            better("GAN-discriminator layers, fine-tuned, beat random init", "gan_tuned", "scratch",
                   metric="test_acc"),
            better("GAN-discriminator layers, frozen, beat random init", "gan_frozen", "scratch", metric="test_acc"),
        ),
    )
