"""Keras layer classes deepfit can import, each read from its config and weights into a `Piece`.

A `Piece` is what one Keras layer means in deepfit's terms (a dense layer, a batch norm, a dropout, an
activation, or a shape-only layer); `deepfit.nn.keras.convert` assembles pieces into a `ModelSpec`.
Unknown classes are a `CheckpointError` naming the layer and its class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deepfit.errors import CheckpointError
from deepfit.nn.keras.reader import KerasLayer
from deepfit.registry import Registry

# Keras activation names and the deepfit activation each one is; "linear" is the identity. Keras's
# leaky_relu function defaults to negative_slope 0.2 (keras/src/activations/activations.py).
_ACTIVATIONS: dict[str, Any] = {
    name: name for name in ("relu", "selu", "elu", "tanh", "sigmoid", "softplus", "softsign", "gelu", "mish")
} | {"linear": "linear", "swish": "swish", "silu": "swish", "leaky_relu": {"name": "leaky_relu", "alpha": 0.2},
     "softmax": "softmax"}


@dataclass(frozen=True)
class Piece:
    """One Keras layer in deepfit's terms.

    `kind` is input, flatten, dense, norm, dropout or activation. `activation` is a deepfit activation spec
    (a dense layer's `activation=` or an activation layer's), "softmax" only for a head. `tensors` are the
    layer's weights by role (kernel, bias, gamma, beta, moving_mean, moving_variance, alpha), in Keras's
    layout. `eps` and `momentum` are a batch norm's, in Keras's convention.
    """

    kind: str
    layer: KerasLayer
    activation: Any = None
    units: int = 0
    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    rate: float = 0.0
    dropout_kind: str = "standard"
    eps: float = 1e-3
    momentum: float = 0.99

    @property
    def label(self) -> str:
        """How errors name the layer: `'dense_1' (Dense)`."""
        return f"layer {self.layer.name!r} ({self.layer.class_name})"


KERAS_LAYERS: Registry[Piece] = Registry("Keras layer")


def read_piece(layer: KerasLayer) -> Piece:
    """The `Piece` of a Keras layer; an unsupported class is a `CheckpointError` naming layer and class."""
    if layer.class_name not in KERAS_LAYERS:
        raise CheckpointError(
            f"layer {layer.name!r} ({layer.class_name}): this class cannot be imported; supported: "
            f"{', '.join(KERAS_LAYERS.names())}"
        )
    return KERAS_LAYERS.build(layer.class_name, layer)


def keras_activation(value: Any, layer: KerasLayer) -> Any:
    """The deepfit activation spec of a Keras activation (a name, or a serialized function's dict)."""
    name = value.get("config") if isinstance(value, dict) else value  # Keras 3 may serialize {"config": "relu"}
    if not isinstance(name, str) or name not in _ACTIVATIONS:
        raise CheckpointError(
            f"layer {layer.name!r} ({layer.class_name}): activation {value!r} cannot be imported; supported: "
            f"{', '.join(sorted(_ACTIVATIONS))}"
        )
    return _ACTIVATIONS[name]


def _weights(layer: KerasLayer, roles: list[str]) -> dict[str, np.ndarray]:
    """The layer's weights by role, in Keras's order; a legacy file's names must end in the role."""
    if len(layer.weights) != len(roles):
        raise CheckpointError(
            f"layer {layer.name!r} ({layer.class_name}): expected {len(roles)} weight arrays ({', '.join(roles)}), "
            f"found {len(layer.weights)} in the file"
        )
    for role, name in zip(roles, layer.weight_names or roles, strict=True):
        if name.rsplit("/", 1)[-1].removesuffix(":0") != role:
            raise CheckpointError(
                f"layer {layer.name!r} ({layer.class_name}): weight {name!r} where {role!r} was expected"
            )
    return {role: np.asarray(w, dtype=np.float32) for role, w in zip(roles, layer.weights, strict=True)}


def _refuse(layer: KerasLayer, **defaults: Any) -> None:
    """Refuse settings deepfit has no counterpart for: each key must be absent or at its given value."""
    for key, ok in defaults.items():
        value = layer.config.get(key, ok)
        if value != ok and not (isinstance(ok, tuple) and value in ok):
            raise CheckpointError(
                f"layer {layer.name!r} ({layer.class_name}): {key}={value!r} cannot be imported (expected "
                f"{ok if not isinstance(ok, tuple) else ' or '.join(map(repr, ok))})"
            )


def _register(name: str, summary: str, aliases: tuple[str, ...] = ()) -> Callable[..., Any]:
    return KERAS_LAYERS.register(name, summary=summary, aliases=aliases)


@_register("InputLayer", "the input's shape (batch_shape, or batch_input_shape in Keras 2)")
def _input(layer: KerasLayer) -> Piece:
    _refuse(layer, sparse=(False, None), ragged=(False, None))
    return Piece("input", layer)


@_register("Flatten", "deepfit's flatten (row-major, as Keras with channels_last)")
def _flatten(layer: KerasLayer) -> Piece:
    _refuse(layer, data_format=("channels_last", None))
    return Piece("flatten", layer)


@_register("Dense", "a linear layer; kernel [in, out] transposed to torch's [out, in]; activation= kept")
def _dense(layer: KerasLayer) -> Piece:
    _refuse(layer, lora_rank=(None, 0), quantization_config=None)
    use_bias = layer.config.get("use_bias", True)
    tensors = _weights(layer, ["kernel", "bias"] if use_bias else ["kernel"])
    if tensors["kernel"].ndim != 2:
        raise CheckpointError(f"layer {layer.name!r} (Dense): kernel of shape {tensors['kernel'].shape}, expected 2-D")
    activation = keras_activation(layer.config.get("activation", "linear"), layer)
    return Piece("dense", layer, activation=activation, units=int(tensors["kernel"].shape[1]), tensors=tensors)


@_register("BatchNormalization", "batch norm over features; momentum 1 - m, epsilon and moving statistics kept")
def _batchnorm(layer: KerasLayer) -> Piece:
    c = layer.config
    _refuse(layer, axis=(-1, 1, [-1], [1]), renorm=(False, None), virtual_batch_size=None)
    roles = [r for r, on in (("gamma", c.get("scale", True)), ("beta", c.get("center", True))) if on]
    tensors = _weights(layer, [*roles, "moving_mean", "moving_variance"])
    return Piece("norm", layer, tensors=tensors, eps=float(c.get("epsilon", 1e-3)),
                 momentum=float(c.get("momentum", 0.99)))


@_register("Dropout", "standard (inverted) dropout")
def _dropout(layer: KerasLayer) -> Piece:
    _refuse(layer, noise_shape=None)
    return Piece("dropout", layer, rate=float(layer.config.get("rate", 0.0)))


@_register("AlphaDropout", "alpha dropout for SELU networks (deepfit dropout_kind = alpha)")
def _alpha_dropout(layer: KerasLayer) -> Piece:
    _refuse(layer, noise_shape=None)
    return Piece("dropout", layer, rate=float(layer.config.get("rate", 0.0)), dropout_kind="alpha")


@_register("Activation", "an activation by name (relu, selu, elu, tanh, sigmoid, softmax, ...)")
def _activation(layer: KerasLayer) -> Piece:
    return Piece("activation", layer, activation=keras_activation(layer.config.get("activation"), layer))


@_register("ReLU", "relu; with negative_slope > 0, leaky_relu (no max_value or threshold)")
def _relu(layer: KerasLayer) -> Piece:
    _refuse(layer, max_value=None, threshold=(0, 0.0, None))
    slope = float(layer.config.get("negative_slope") or 0.0)
    return Piece("activation", layer, activation={"name": "leaky_relu", "alpha": slope} if slope else "relu")


@_register("LeakyReLU", "leaky_relu with Keras's slope (negative_slope, or alpha in Keras 2; default 0.3)")
def _leaky_relu(layer: KerasLayer) -> Piece:
    slope = layer.config.get("negative_slope", layer.config.get("alpha", 0.3))
    return Piece("activation", layer, activation={"name": "leaky_relu", "alpha": float(slope)})


@_register("ELU", "elu with Keras's alpha (default 1.0)")
def _elu(layer: KerasLayer) -> Piece:
    return Piece("activation", layer, activation={"name": "elu", "alpha": float(layer.config.get("alpha", 1.0))})


@_register("PReLU", "prelu with one learned slope per unit (alpha); shared_axes unsupported")
def _prelu(layer: KerasLayer) -> Piece:
    _refuse(layer, shared_axes=None)
    tensors = _weights(layer, ["alpha"])
    return Piece("activation", layer, activation="prelu", tensors={"alpha": tensors["alpha"].reshape(-1)})


@_register("Softmax", "softmax over the last axis (heads only)")
def _softmax(layer: KerasLayer) -> Piece:
    _refuse(layer, axis=(-1, 1, [-1], [1]))
    return Piece("activation", layer, activation="softmax")
