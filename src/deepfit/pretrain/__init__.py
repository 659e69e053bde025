"""Unsupervised and auxiliary-task pretraining: greedy autoencoders, stacked RBMs, siamese encoders.

Each writes a model directory that `deepfit transfer --from DIR` (or `[transfer] source = DIR`) reuses.
"""

from deepfit.pretrain.autoencoder import Corrupt, pretrain_autoencoder
from deepfit.pretrain.auxiliary import Siamese, contrastive_objective, make_pairs, pretrain_siamese
from deepfit.pretrain.rbm import RBM, pretrain_rbm
from deepfit.pretrain.run import PRETRAINERS, run_pretraining

__all__ = [
    "PRETRAINERS",
    "RBM",
    "Corrupt",
    "Siamese",
    "contrastive_objective",
    "make_pairs",
    "pretrain_autoencoder",
    "pretrain_rbm",
    "pretrain_siamese",
    "run_pretraining",
]
