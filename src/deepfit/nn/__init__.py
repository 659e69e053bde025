"""Network building blocks: initializers, activations, dense blocks, model building and saving."""

from deepfit.nn.activations import ACTIVATIONS, build_activation
from deepfit.nn.batchnorm import Affine, batchnorm_options, fold_batchnorm
from deepfit.nn.blocks import DenseBlock
from deepfit.nn.build import ModelSpec, build_model
from deepfit.nn.dropout import DROPOUTS, MCPrediction, build_dropout, mc_dropout, mc_predict
from deepfit.nn.factory import FactorySpec, build_factory_model, factory_spec
from deepfit.nn.init import INITIALIZERS, auto_initializer, resolve_initializer, variance_scaling
from deepfit.nn.keras_batchnorm import BiasedBatchNorm1d, batch_norm
from deepfit.nn.saving import load_model, save_model
from deepfit.nn.selfnorm import Violation, check_self_normalizing
from deepfit.nn.sequence import flat_layers

__all__ = [
    "ACTIVATIONS",
    "DROPOUTS",
    "INITIALIZERS",
    "Affine",
    "BiasedBatchNorm1d",
    "DenseBlock",
    "FactorySpec",
    "MCPrediction",
    "ModelSpec",
    "Violation",
    "auto_initializer",
    "batch_norm",
    "batchnorm_options",
    "build_activation",
    "build_dropout",
    "build_factory_model",
    "build_model",
    "check_self_normalizing",
    "factory_spec",
    "flat_layers",
    "fold_batchnorm",
    "load_model",
    "mc_dropout",
    "mc_predict",
    "resolve_initializer",
    "save_model",
    "variance_scaling",
]
