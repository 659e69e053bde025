"""Freeze and unfreeze layers by index, name or range; frozen batch-norm layers stay in evaluation mode.

A frozen layer's parameters have `requires_grad=False`, so they get no gradient, and an optimizer built
over `trainable_parameters(model)` keeps no state for them. Its batch-norm modules keep using (and never
update) their moving statistics even after `model.train()`, as Keras does for a BN layer with
`trainable=False` since TF 2.0 (Géron, ch. 11).
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Sequence

from torch import nn

from deepfit.errors import ConfigError
from deepfit.transfer.reuse import layer_names

LayerSelector = int | str | slice | range | Sequence[int | str]


def select_layers(model: nn.Module, which: LayerSelector) -> list[str]:
    """Names of the layers `which` designates among `layer_names(model)` (bottom first).

    `which` is an index (0 = the lowest layer with parameters, negatives count from the head), a name
    (`"hidden2"`), `"all"`, a `slice`/`range` of indices, or a list of any of these.

    Raises:
        ConfigError: an index out of range or a name the model does not have; the message lists the layers.
    """
    names = layer_names(model)
    if isinstance(which, str):
        if which == "all":
            return names
        if which not in names:
            raise ConfigError(f"no layer named {which!r} to freeze or unfreeze; this model has {names}")
        return [which]
    if isinstance(which, bool):
        raise ConfigError(f"layer selector must be an index, name, range or list, got {which!r}")
    if isinstance(which, int):
        if not -len(names) <= which < len(names):
            raise ConfigError(f"layer index {which} is out of range; this model has {len(names)} layers: {names}")
        return [names[which]]
    if isinstance(which, slice):
        return names[which]
    if isinstance(which, range):
        return [n for i in which for n in select_layers(model, i)]
    if isinstance(which, Sequence):
        picked = [n for w in which for n in select_layers(model, w)]
        return [n for n in names if n in picked]
    raise ConfigError(f"layer selector must be an index, name, range or list, got {which!r}")


def freeze(model: nn.Module, which: LayerSelector = "all") -> list[str]:
    """Freeze the selected layers in place; returns their names."""
    chosen = select_layers(model, which)
    for name in chosen:
        layer = getattr(model, name)
        for p in layer.parameters():
            p.requires_grad_(False)
        for bn in _batchnorms(layer):
            bn.train = types.MethodType(_stay_in_eval, bn)  # instance override: model.train() reaches it
            bn.eval()
    return chosen


def unfreeze(model: nn.Module, which: LayerSelector = "all") -> list[str]:
    """Make the selected layers trainable again; their batch norm follows the model's mode once more."""
    chosen = select_layers(model, which)
    for name in chosen:
        layer = getattr(model, name)
        for p in layer.parameters():
            p.requires_grad_(True)
        for bn in _batchnorms(layer):
            bn.__dict__.pop("train", None)
            nn.Module.train(bn, model.training)
    return chosen


def is_frozen(layer: nn.Module) -> bool:
    """True when the layer has parameters and none of them is trainable."""
    params = list(layer.parameters())
    return bool(params) and not any(p.requires_grad for p in params)


def held_in_eval(module: nn.Module) -> bool:
    """True when `freeze` holds this (batch-norm) module in evaluation mode whatever the model's mode."""
    return "train" in module.__dict__


def frozen_layers(model: nn.Module) -> list[str]:
    return [n for n in layer_names(model) if is_frozen(getattr(model, n))]


def trainable_parameters(model: nn.Module) -> Iterator[nn.Parameter]:
    """The parameters an optimizer should receive: those with `requires_grad`."""
    return (p for p in model.parameters() if p.requires_grad)


def _batchnorms(layer: nn.Module) -> list[nn.Module]:
    return [m for m in layer.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def _stay_in_eval(self: nn.Module, mode: bool = True) -> nn.Module:
    return nn.Module.train(self, False)
