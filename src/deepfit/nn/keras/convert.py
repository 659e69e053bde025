"""Turn a Keras Sequential of dense layers into a deepfit `ModelSpec` and the state dict of its network.

The conventions converted (Keras 3 source: layers/core/dense.py, layers/normalization/batch_normalization.py):
```
Dense kernel             Keras [in, out]                       torch weight [out, in] = kernel.T
BatchNormalization       momentum m: running = m * running + (1 - m) * batch
                         deepfit norm_momentum = 1 - m (PyTorch's convention); epsilon kept (Keras 1e-3);
                         norm_running_var = "biased": the moving variance goes on averaging Keras's estimate
Dense -> BN (norm before) deepfit's linear layer has no bias: BN(Wx + b) with mean mu is BN(Wx) with mu - b
moving_variance          copied unchanged (Keras averages biased batch variances, torch unbiased ones;
                         inference uses the stored value as it is, docs/batchnorm.md)
```
deepfit's dense net has one activation, one batch-norm position and one epsilon and momentum for every hidden
layer; a Keras model that varies them is a `CheckpointError` naming the first layer that differs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from deepfit.errors import CheckpointError, ConfigError, ShapeError
from deepfit.nn.build import ModelSpec, build_model
from deepfit.nn.init import INITIALIZERS
from deepfit.nn.keras.layers import Piece, read_piece
from deepfit.nn.keras.reader import KerasFile, read_keras

# Keras layer sequences after a Dense layer (trailing dropout aside) and the deepfit norm position they are
_BLOCKS = {
    (True,): "none", (True, "norm"): "after",
    (False,): "none", (False, "activation"): "none", (False, "activation", "norm"): "after",
    (False, "norm"): "before", (False, "norm", "activation"): "before",
}
_HEADS = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy", "linear": "mse"}


@dataclass(frozen=True)
class Converted:
    """An imported network: its spec, its weights as deepfit names them, its loss, and the layer mapping."""

    spec: ModelSpec
    state: dict[str, torch.Tensor]
    loss: str  # cross_entropy (softmax head), binary_cross_entropy (sigmoid), mse (linear)
    layer_map: dict[str, str]  # Keras layer name -> deepfit layer (hidden1.linear, output, ...)
    format: str = "h5"  # the file's: h5 or keras
    keras_version: str = "unknown"


@dataclass
class _Block:
    dense: Piece
    norm: Piece | None = None
    activation: Piece | None = None
    dropout: Piece | None = None
    position: str = "none"

    @property
    def act(self) -> Any:
        """The block's activation spec: the dense layer's `activation=` or the activation layer's."""
        return self.activation.activation if self.activation is not None else self.dense.activation


def convert_keras(keras: KerasFile) -> Converted:
    """The deepfit network of a Keras Sequential file (see the module docstring for the conventions).

    Raises:
        CheckpointError: a layer or a layer order deepfit's dense net cannot express.
        ShapeError: the recorded input shape does not fit the first dense layer.
    """
    pieces = [read_piece(layer) for layer in keras.layers]
    first = next((i for i, p in enumerate(pieces) if p.kind == "dense"), None)
    if first is None:
        raise CheckpointError(f"{keras.path}: no Dense layer; expected a Sequential of Dense layers")
    prefix, blocks = pieces[:first], _blocks(pieces[first:])
    input_norm, input_dropout = _prefix(prefix, keras, blocks[0].dense)
    *hidden, head = blocks
    loss = _head(head)
    position, activation = _uniform(hidden)
    norms = [p for p in [input_norm, *(b.norm for b in hidden)] if p is not None]
    eps, momentum = _norm_settings(norms)
    dropouts = [p for p in [input_dropout, *(b.dropout for b in hidden)] if p is not None]
    kinds = {p.dropout_kind for p in dropouts}
    if len(kinds) > 1:
        raise CheckpointError(f"{keras.path}: mixes Dropout and AlphaDropout; deepfit uses one dropout kind")
    rates = [b.dropout.rate if b.dropout else 0.0 for b in hidden]
    spec = ModelSpec(
        input_shape=_input_shape(keras, prefix, blocks[0].dense),
        num_outputs=head.dense.units,
        hidden=[b.dense.units for b in hidden],
        activation=activation,
        init=_initializer(blocks[0].dense),
        norm=position,  # type: ignore[arg-type]
        dropout=rates[0] if len(set(rates)) <= 1 and rates else rates or 0.0,
        input_dropout=input_dropout.rate if input_dropout else 0.0,
        dropout_kind=kinds.pop() if kinds else "standard",
        input_norm=input_norm is not None,
        norm_momentum=momentum,
        norm_eps=eps,
        norm_running_var="biased" if eps is not None else "unbiased",  # fine-tuning continues Keras's average
    )
    state, layer_map = _state(hidden, head, input_norm, position)
    return Converted(spec, state, loss, layer_map, keras.format, keras.keras_version)


def _blocks(pieces: list[Piece]) -> list[_Block]:
    """Group the pieces from the first Dense on into one block per Dense layer, each checked against `_BLOCKS`."""
    groups: list[list[Piece]] = []
    for p in pieces:
        if p.kind in ("input", "flatten"):
            raise CheckpointError(f"{p.label}: only allowed before the first Dense layer")
        if p.kind == "dense":
            groups.append([p])
        else:
            groups[-1].append(p)
    blocks = []
    for dense, *rest in groups:
        block = _Block(dense)
        if rest and rest[-1].kind == "dropout":
            block.dropout = rest.pop()
        shape = (dense.activation != "linear", *(p.kind for p in rest))
        if shape not in _BLOCKS:
            order = ", ".join(p.layer.class_name for p in [dense, *rest])
            raise CheckpointError(
                f"{(rest or [dense])[-1].label}: the layers {order} cannot be one deepfit dense block; expected "
                "Dense(activation) [BatchNormalization] [Dropout], or Dense [BatchNormalization] Activation "
                "[BatchNormalization] [Dropout]"
            )
        block.position = _BLOCKS[shape]
        block.norm = next((p for p in rest if p.kind == "norm"), None)
        block.activation = next((p for p in rest if p.kind == "activation"), None)
        blocks.append(block)
    return blocks


def _prefix(prefix: list[Piece], keras: KerasFile, dense: Piece) -> tuple[Piece | None, Piece | None]:
    """(input batch norm, input dropout) from the layers before the first Dense, in deepfit's order."""
    order = [p.kind for p in prefix if p.kind not in ("input", "flatten")]
    if order not in ([], ["norm"], ["dropout"], ["norm", "dropout"]):
        bad = next(p for p in prefix if p.kind not in ("input", "flatten", "norm", "dropout")) \
            if any(k not in ("norm", "dropout") for k in order) else prefix[-1]
        raise CheckpointError(
            f"{bad.label}: before the first Dense layer deepfit takes [InputLayer] [Flatten] "
            "[BatchNormalization] [Dropout], in that order"
        )
    seen = [p.kind for p in prefix]
    if "flatten" in seen and any(k in ("norm", "dropout") for k in seen[: seen.index("flatten")]):
        raise CheckpointError(f"{dense.label}: a BatchNormalization or Dropout before Flatten cannot be imported")
    norm = next((p for p in prefix if p.kind == "norm"), None)
    return norm, next((p for p in prefix if p.kind == "dropout"), None)


def _head(head: _Block) -> str:
    if head.norm is not None or head.dropout is not None:
        raise CheckpointError(f"{(head.norm or head.dropout).label}: after the output Dense layer; not importable")
    act = head.act
    if act not in _HEADS:
        raise CheckpointError(f"{head.dense.label}: output activation {act!r}; expected softmax, sigmoid or linear")
    units = head.dense.units
    if (act == "softmax" and units < 2) or (act != "softmax" and units != 1):
        expected = "at least 2 units" if act == "softmax" else "1 unit"
        raise CheckpointError(f"{head.dense.label}: a {act} output needs {expected}, found {units}")
    return _HEADS[act]


def _uniform(hidden: list[_Block]) -> tuple[str, Any]:
    """(norm position, activation) shared by every hidden block, or a `CheckpointError` at the first that differs."""
    if not hidden:
        return "none", "relu"
    position, activation = hidden[0].position, hidden[0].act
    for b in hidden:
        if b.act == "softmax":
            raise CheckpointError(f"{b.dense.label}: softmax in a hidden layer; deepfit uses it for outputs only")
        if b.position != position or b.act != activation:
            raise CheckpointError(
                f"{(b.activation or b.dense).label}: activation {b.act!r} with batch norm {b.position!r}, "
                f"where the layers below have {activation!r} with batch norm {position!r}; deepfit's dense net "
                "uses one activation and one batch-norm position for all hidden layers"
            )
    return position, activation


def _norm_settings(norms: list[Piece]) -> tuple[float | None, float | None]:
    """(eps, momentum in PyTorch's convention) shared by every batch norm; (None, None) without one."""
    if not norms:
        return None, None
    for p in norms[1:]:
        if (p.eps, p.momentum) != (norms[0].eps, norms[0].momentum):
            raise CheckpointError(
                f"{p.label}: epsilon {p.eps} and momentum {p.momentum}, where {norms[0].label} has "
                f"{norms[0].eps} and {norms[0].momentum}; deepfit uses one setting for all batch norms"
            )
    return norms[0].eps, float(f"{1.0 - norms[0].momentum:.12g}")  # Keras 0.99 -> 0.01 exactly


def _input_shape(keras: KerasFile, prefix: list[Piece], dense: Piece) -> tuple[int, ...]:
    fan_in = int(dense.tensors["kernel"].shape[0])
    shape = keras.input_shape or (fan_in,)
    if math.prod(shape) != fan_in:
        raise ShapeError(f"{dense.label}: takes {fan_in} inputs, but the model's input shape is {shape}")
    if len(shape) > 1 and not any(p.kind == "flatten" for p in prefix):
        raise CheckpointError(f"{dense.label}: inputs of shape {shape} reach it without a Flatten layer")
    return shape


def _initializer(dense: Piece) -> Any:
    """The first Dense layer's kernel initializer when deepfit has it, else Keras's default glorot_uniform.

    It only matters for layers trained from scratch; imported layers keep their weights.
    """
    value = dense.layer.config.get("kernel_initializer", "glorot_uniform")
    if isinstance(value, dict):
        params = {k: v for k, v in (value.get("config") or {}).items() if k != "seed"}
        value = {"name": value.get("class_name", ""), **params} if params else value.get("class_name", "")
    try:
        INITIALIZERS.resolve(value)
    except (ConfigError, TypeError, ValueError):
        return "glorot_uniform"
    return value if isinstance(value, dict) else INITIALIZERS.canonical(value)


def _state(
    hidden: list[_Block], head: _Block, input_norm: Piece | None, position: str
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    state: dict[str, torch.Tensor] = {}
    layer_map: dict[str, str] = {}
    if input_norm is not None:
        state |= _norm_state("input_norm", input_norm, None)
        layer_map[input_norm.layer.name] = "input_norm"
    for i, b in enumerate(hidden, start=1):
        name = f"hidden{i}"
        state |= _linear_state(f"{name}.linear", b.dense, bias=position != "before")
        layer_map[b.dense.layer.name] = f"{name}.linear"
        if b.norm is not None:
            folded = b.dense.tensors.get("bias") if position == "before" else None
            state |= _norm_state(f"{name}.norm", b.norm, folded)
            layer_map[b.norm.layer.name] = f"{name}.norm"
        if b.activation is not None and "alpha" in b.activation.tensors:
            state[f"{name}.activation.weight"] = torch.from_numpy(b.activation.tensors["alpha"].copy())
            layer_map[b.activation.layer.name] = f"{name}.activation"
    state |= _linear_state("output", head.dense, bias=True)
    layer_map[head.dense.layer.name] = "output"
    return state, layer_map


def _linear_state(prefix: str, dense: Piece, *, bias: bool) -> dict[str, torch.Tensor]:
    kernel = dense.tensors["kernel"]  # (in, out), Keras's layout
    out = {f"{prefix}.weight": torch.from_numpy(np.ascontiguousarray(kernel.T))}  # (out, in), torch's
    if bias:
        b = dense.tensors.get("bias", np.zeros(kernel.shape[1], np.float32))
        out[f"{prefix}.bias"] = torch.from_numpy(b.copy())
    return out


def _norm_state(prefix: str, norm: Piece, folded_bias: np.ndarray | None) -> dict[str, torch.Tensor]:
    t = norm.tensors
    mean = t["moving_mean"] if folded_bias is None else t["moving_mean"] - folded_bias  # BN(Wx + b) = BN'(Wx)
    ones = np.ones_like(mean)
    arrays = {"weight": t.get("gamma", ones), "bias": t.get("beta", np.zeros_like(mean)),
              "running_mean": mean, "running_var": t["moving_variance"]}
    out = {f"{prefix}.{k}": torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in arrays.items()}
    out[f"{prefix}.num_batches_tracked"] = torch.tensor(0)
    return out


def load_keras(path: str | Path) -> tuple[nn.Sequential, Converted]:
    """The deepfit network of a Keras Sequential file, in evaluation mode, with its `Converted` record."""
    converted = convert_keras(read_keras(path))
    model = build_model(converted.spec)
    try:
        model.load_state_dict(converted.state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: the weights do not fit the layers their configs describe: {exc}") from None
    return model.eval(), converted
