"""Build a dense network from a plain `ModelSpec`; initialisation happens here, by name."""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

from deepfit.errors import ConfigError
from deepfit.nn.activations import activation_name, build_activation
from deepfit.nn.batchnorm import batchnorm_options
from deepfit.nn.blocks import DenseBlock, Norm
from deepfit.nn.dropout import build_dropout, check_rate
from deepfit.nn.init import auto_initializer, resolve_initializer
from deepfit.nn.keras_batchnorm import batch_norm

OUTPUT_INIT = "glorot_uniform"  # Keras's default for the output layer, as in the chapter's models
# A dense net above this is a typo (hidden = [1000000000]) or a label column of ids, not a model: refused
# before torch tries to allocate it. 1e9 float32 weights are 4 GB, and training adds gradients and optimizer state.
MAX_PARAMETERS = 1_000_000_000


@dataclass
class ModelSpec:
    """Everything needed to rebuild a model without pickle; stored as `model.json`.

    `num_outputs` is the class count for multiclass, 1 for binary and regression.
    """

    input_shape: tuple[int, ...]
    num_outputs: int
    hidden: list[int] = field(default_factory=lambda: [300, 100])
    activation: str | dict[str, Any] = "relu"
    init: str | dict[str, Any] = "he_normal"
    norm: Norm = "none"
    dropout: float | list[float] = 0.0  # one rate for every hidden block, or one rate per block
    input_dropout: float = 0.0  # dropout on the (flattened) inputs
    dropout_kind: str = "standard"  # see `deepfit list dropouts`; "alpha" for SELU networks
    input_norm: bool = False  # batch norm on the flattened inputs (instead of standardising them)
    norm_momentum: float | None = None  # PyTorch's convention (Keras 0.99 = 0.01); None: torch's 0.1
    norm_eps: float | None = None  # None: torch's 1e-5
    norm_running_var: str = "unbiased"  # the batch variance the moving variance averages: torch's, or Keras's "biased"
    layer_init: dict[str, Any] = field(default_factory=dict)  # per-layer kernel init: {"hidden1": "orthogonal"}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelSpec:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"model spec: unknown keys {sorted(unknown)}; valid: {sorted(known)}")
        d = dict(d)
        d["input_shape"] = tuple(d["input_shape"])
        return cls(**d)

    @property
    def in_features(self) -> int:
        return math.prod(self.input_shape)

    def parameter_count(self) -> int:
        """The parameters `build_model` would allocate (kernels, biases, batch-norm scales and shifts; an
        activation's own, such as PReLU's, aside), computed from the widths alone."""
        widths = [self.in_features, *self.hidden, self.num_outputs]
        kernels = sum(a * b for a, b in itertools.pairwise(widths))
        biases = (0 if self.norm == "before" else sum(self.hidden)) + self.num_outputs
        norms = 2 * self.in_features * self.input_norm + (2 * sum(self.hidden) if self.norm != "none" else 0)
        return kernels + biases + norms


def build_model(spec: ModelSpec) -> nn.Sequential:
    """A `Flatten -> [input batch norm] -> DenseBlock x len(hidden) -> Linear` network, initialised by name.

    `init="auto"` pairs the initializer with the activation (see `auto_initializer`); `layer_init` overrides
    it per layer (see `layer_initializers`); biases start at zero.
    """
    if spec.num_outputs < 1:
        raise ConfigError(f"model: num_outputs must be >= 1, got {spec.num_outputs}")
    check_size(spec)
    inits = layer_initializers(spec)
    norm_options = batchnorm_options(spec.norm_momentum, spec.norm_eps, spec.norm_running_var)
    layers: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
    if spec.input_norm:
        layers["input_norm"] = batch_norm(spec.in_features, **norm_options)
    rates = dropout_rates(spec)
    if check_rate(spec.input_dropout, "model.input_dropout") > 0:
        layers["input_dropout"] = build_dropout(spec.dropout_kind, spec.input_dropout)
    width = spec.in_features
    for i, (units, rate) in enumerate(zip(spec.hidden, rates, strict=True), start=1):
        activation = build_activation(spec.activation, units)
        block = DenseBlock(width, units, activation, norm=spec.norm, dropout=rate, dropout_kind=spec.dropout_kind,
                           norm_options=norm_options)
        resolve_initializer(inits[f"hidden{i}"])(block.linear.weight)
        if block.linear.bias is not None:
            nn.init.zeros_(block.linear.bias)
        layers[f"hidden{i}"] = block
        width = units
    head = nn.Linear(width, spec.num_outputs)
    resolve_initializer(inits["output"])(head.weight)
    nn.init.zeros_(head.bias)
    layers["output"] = head
    return nn.Sequential(layers)


def check_size(spec: ModelSpec, limit: int = MAX_PARAMETERS) -> int:
    """`spec`'s parameter count; above `limit` a `ConfigError` saying what was asked for, before any allocation."""
    count = spec.parameter_count()
    if count > limit:
        widths = " -> ".join(str(w) for w in [spec.in_features, *spec.hidden, spec.num_outputs])
        raise ConfigError(
            f"model: the network {widths} would have {count:,} parameters ({count * 4 / 1e9:,.1f} GB as float32, "
            f"before gradients and optimizer state), above the limit of {limit:,}; check model.hidden "
            "and the number of classes (outputs)"
        )
    return count


def layer_initializers(spec: ModelSpec) -> dict[str, Any]:
    """The kernel initializer spec of each layer (`hidden1`, ..., `output`), with `auto` resolved.

    Hidden layers use `spec.init`, the output layer `OUTPUT_INIT`; `spec.layer_init` overrides either by
    layer name. An unknown layer name is a `ConfigError` that lists the valid ones.
    """
    default = auto_initializer(activation_name(spec.activation)) if spec.init == "auto" else spec.init
    inits: dict[str, Any] = {f"hidden{i}": default for i in range(1, len(spec.hidden) + 1)}
    inits["output"] = OUTPUT_INIT
    unknown = sorted(set(spec.layer_init) - set(inits))
    if unknown:
        raise ConfigError(f"model.layer_init: unknown layer(s) {unknown}; valid: {', '.join(inits)}")
    for name, init in spec.layer_init.items():
        inits[name] = auto_initializer(activation_name(spec.activation)) if init == "auto" else init
    return inits


def dropout_rates(spec: ModelSpec) -> list[float]:
    """One dropout rate per hidden block: `spec.dropout` repeated, or its list when it has one per block."""
    if isinstance(spec.dropout, list | tuple):
        if len(spec.dropout) != len(spec.hidden):
            raise ConfigError(
                f"model.dropout: expected one rate or {len(spec.hidden)} (one per hidden layer), "
                f"got {len(spec.dropout)}: {list(spec.dropout)}"
            )
        return [check_rate(r, "model.dropout") for r in spec.dropout]
    return [check_rate(spec.dropout, "model.dropout")] * len(spec.hidden)
