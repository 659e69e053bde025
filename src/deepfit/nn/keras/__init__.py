"""Keras Sequential models read without TensorFlow (h5py) and converted to deepfit's dense network."""

from deepfit.nn.keras.convert import Converted, convert_keras, load_keras
from deepfit.nn.keras.layers import KERAS_LAYERS, Piece, read_piece
from deepfit.nn.keras.reader import KerasFile, KerasLayer, read_keras

__all__ = [
    "KERAS_LAYERS",
    "Converted",
    "KerasFile",
    "KerasLayer",
    "Piece",
    "convert_keras",
    "load_keras",
    "read_keras",
    "read_piece",
]
