"""Build a dense network from a plain `ModelSpec`; initialisation happens here, by name."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

from deepfit.errors import ConfigError
from deepfit.nn.activations import activation_name, build_activation
from deepfit.nn.blocks import DenseBlock, Norm
from deepfit.nn.init import auto_initializer, resolve_initializer

OUTPUT_INIT = "glorot_uniform"  # Keras's default for the output layer, as in the chapter's models


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
    dropout: float = 0.0

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


def build_model(spec: ModelSpec) -> nn.Sequential:
    """A `Flatten -> DenseBlock x len(hidden) -> Linear` network, initialised by name.

    `init="auto"` pairs the initializer with the activation (see `auto_initializer`); biases start at zero.
    """
    if spec.num_outputs < 1:
        raise ConfigError(f"model: num_outputs must be >= 1, got {spec.num_outputs}")
    act = activation_name(spec.activation)
    init_spec = auto_initializer(act) if spec.init == "auto" else spec.init
    init = resolve_initializer(init_spec)
    layers: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
    width = spec.in_features
    for i, units in enumerate(spec.hidden, start=1):
        block = DenseBlock(width, units, build_activation(spec.activation, units), norm=spec.norm, dropout=spec.dropout)
        init(block.linear.weight)
        if block.linear.bias is not None:
            nn.init.zeros_(block.linear.bias)
        layers[f"hidden{i}"] = block
        width = units
    head = nn.Linear(width, spec.num_outputs)
    resolve_initializer(OUTPUT_INIT)(head.weight)
    nn.init.zeros_(head.bias)
    layers["output"] = head
    return nn.Sequential(layers)
