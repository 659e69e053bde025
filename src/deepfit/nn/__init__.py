"""Network building blocks: initializers, activations, dense blocks, model building and saving."""

from deepfit.nn.activations import ACTIVATIONS, build_activation
from deepfit.nn.blocks import DenseBlock
from deepfit.nn.build import ModelSpec, build_model
from deepfit.nn.init import INITIALIZERS, auto_initializer, resolve_initializer, variance_scaling
from deepfit.nn.saving import load_model, save_model

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "DenseBlock",
    "ModelSpec",
    "auto_initializer",
    "build_activation",
    "build_model",
    "load_model",
    "resolve_initializer",
    "save_model",
    "variance_scaling",
]
