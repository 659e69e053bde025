"""Unsupervised and auxiliary-task pretraining: greedy autoencoders, stacked RBMs, GAN discriminators, siamese
encoders.

Each writes a model directory that `deepfit transfer --from DIR` (or `[transfer] source = DIR`) reuses.
"""

from deepfit.pretrain.autoencoder import Corrupt, pretrain_autoencoder
from deepfit.pretrain.auxiliary import Siamese, contrastive_objective, make_pairs, pretrain_siamese
from deepfit.pretrain.gan import GAN, build_gan, hand_over, pretrain_gan, train_gan
from deepfit.pretrain.rbm import RBM, pretrain_rbm
from deepfit.pretrain.run import PRETRAINERS, run_pretraining

__all__ = [
    "GAN",
    "PRETRAINERS",
    "RBM",
    "Corrupt",
    "Siamese",
    "build_gan",
    "contrastive_objective",
    "hand_over",
    "make_pairs",
    "pretrain_autoencoder",
    "pretrain_gan",
    "pretrain_rbm",
    "pretrain_siamese",
    "run_pretraining",
    "train_gan",
]
