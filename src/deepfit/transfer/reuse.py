"""Reuse the lower layers of a trained network: clone it, keep its first hidden layers, give it a new head.

Layers are the named children that hold parameters (`hidden1`, ..., `output`); `flatten` has none. Reuse
always copies weights: sharing modules between the old and the new model is the pitfall Géron (ch. 11)
warns about, since training one would silently change the other.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import replace

from torch import nn

from deepfit.errors import ConfigError, ShapeError
from deepfit.nn import ModelSpec, build_model


def clone(model: nn.Module) -> nn.Module:
    """An independent copy with the same weights, buffers and training mode (Keras `clone_model` + weights)."""
    return copy.deepcopy(model)


def layer_names(model: nn.Module) -> list[str]:
    """Names of the children that hold parameters, bottom first (`hidden1`, ..., `output`)."""
    return [name for name, child in model.named_children() if any(True for _ in child.parameters())]


def hidden_names(model: nn.Module) -> list[str]:
    """The hidden layers: every parameterised layer except the last (the head)."""
    return layer_names(model)[:-1]


def reuse_count(model: nn.Module, upto: int | str) -> int:
    """How many hidden layers `upto` selects: a count, or the name of the highest hidden layer to keep.

    Raises:
        ConfigError: more layers than the model has, a negative count, or an unknown layer name.
    """
    hidden = hidden_names(model)
    if isinstance(upto, str):
        if upto not in hidden:
            raise ConfigError(f"reuse: no hidden layer named {upto!r}; this model has {hidden}")
        return hidden.index(upto) + 1
    if isinstance(upto, bool) or not 0 <= upto <= len(hidden):
        raise ConfigError(
            f"reuse: asked for {upto!r} hidden layers, this model has {len(hidden)} ({', '.join(hidden) or 'none'})"
        )
    return int(upto)


def reuse(model: nn.Module, upto: int | str) -> nn.Sequential:
    """A copy of the model's layers up to and including the `upto`-th hidden layer (a count or a name).

    Parameterless leading layers (`flatten`) come along; the copy shares nothing with `model`.
    """
    n = reuse_count(model, upto)
    keep = set(hidden_names(model)[:n])
    parameterised = set(layer_names(model))
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for name, child in model.named_children():
        if name in parameterised and name not in keep:
            break  # everything from the first layer not reused upward is dropped
        layers[name] = copy.deepcopy(child)
    return nn.Sequential(layers)


def out_features(model: nn.Module) -> int:
    """Width of the last parameterised layer's output (the features a new head receives)."""
    names = layer_names(model)
    if not names:
        raise ShapeError("model has no layer with parameters")
    last = getattr(model, names[-1])
    linears = [m for m in last.modules() if isinstance(m, nn.Linear)]
    return linears[-1].out_features


def with_head(body: nn.Sequential, num_outputs: int, init: nn.Module | None = None) -> nn.Sequential:
    """`body` followed by a new `output` layer: a fresh `Linear(out_features(body), num_outputs)`.

    The head is initialised like `build_model`'s (Glorot uniform, zero bias) unless `init` is given.
    """
    if num_outputs < 1:
        raise ConfigError(f"new head: num_outputs must be >= 1, got {num_outputs}")
    width = out_features(body)
    head = (
        init
        if init is not None
        else build_model(ModelSpec(input_shape=(width,), num_outputs=num_outputs, hidden=[])).output
    )
    if not isinstance(head, nn.Linear) or (head.in_features, head.out_features) != (width, num_outputs):
        raise ShapeError(f"new head must be Linear({width}, {num_outputs}), got {head}")
    return nn.Sequential(OrderedDict([*body.named_children(), ("output", head)]))


def transfer_spec(spec: ModelSpec, n_layers: int, num_outputs: int) -> ModelSpec:
    """The spec of a model that keeps the first `n_layers` hidden layers of `spec` and has a new head."""
    if not 0 <= n_layers <= len(spec.hidden):
        raise ConfigError(
            f"transfer.reuse: asked for {n_layers} hidden layers, the source model has {len(spec.hidden)} "
            f"({spec.hidden})"
        )
    per_layer = {  # per-hidden-layer lists (e.g. one dropout rate per block) are cut like `hidden`
        f: list(v[:n_layers])
        for f, v in vars(spec).items()
        if f not in ("hidden", "input_shape") and isinstance(v, list | tuple) and len(v) == len(spec.hidden)
    }
    return replace(spec, hidden=list(spec.hidden[:n_layers]), num_outputs=num_outputs, **per_layer)


def transfer_model(
    source: nn.Module, spec: ModelSpec, n_layers: int, num_outputs: int
) -> tuple[nn.Sequential, ModelSpec]:
    """A new model built from `transfer_spec` whose hidden layers carry `source`'s weights (copied).

    The result rebuilds from its spec alone (`build_model`), so it saves and loads like any model; only
    the head is freshly initialised.
    """
    new_spec = transfer_spec(spec, n_layers, num_outputs)
    model = build_model(new_spec)
    for name in hidden_names(model):
        getattr(model, name).load_state_dict(getattr(source, name).state_dict())
    return model, new_spec


def check_head(model: nn.Module, num_outputs: int) -> None:
    """Raise `ShapeError` when the model's head does not produce `num_outputs` outputs (labels' width)."""
    got = out_features(model)
    if got != num_outputs:
        raise ShapeError(f"the model's head has {got} outputs but the labels need {num_outputs}")
