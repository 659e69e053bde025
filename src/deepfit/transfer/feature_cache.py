"""Frozen-feature caching: run the frozen lower layers once and train the upper layers on their outputs.

Exact only when every cached layer computes the same function in training as in evaluation: no dropout,
no randomised activation (RReLU), and batch norm only when frozen (it then stays in evaluation mode).
Input augmentation would also break it; it happens outside the model, so the caller must not cache then.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from deepfit.transfer.freeze import held_in_eval, is_frozen
from deepfit.transfer.reuse import layer_names

_STOCHASTIC = (nn.modules.dropout._DropoutNd, nn.RReLU)


def is_deterministic(module: nn.Module) -> bool:
    """True when `module` computes the same function in training as in evaluation mode.

    Dropout with p = 0 counts as deterministic; batch norm does only while it is forced into evaluation
    mode by `freeze`.
    """
    for m in module.modules():
        if isinstance(m, _STOCHASTIC) and not (isinstance(m, nn.modules.dropout._DropoutNd) and m.p == 0):
            return False
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not held_in_eval(m):
            return False
    return True


def split_frozen(model: nn.Sequential) -> tuple[nn.Sequential, nn.Sequential]:
    """(lower, upper): the longest run of leading layers that are frozen and deterministic, and the rest.

    Parameterless layers (`flatten`) join the lower part while it grows. Both parts share the model's
    modules, so training `upper` trains the model.
    """
    params = set(layer_names(model))
    lower: OrderedDict[str, nn.Module] = OrderedDict()
    upper: OrderedDict[str, nn.Module] = OrderedDict()
    for name, child in model.named_children():
        cacheable = not upper and is_deterministic(child) and (name not in params or is_frozen(child))
        (lower if cacheable else upper)[name] = child
    return nn.Sequential(lower), nn.Sequential(upper)


def cacheable_layers(model: nn.Sequential) -> list[str]:
    """The parameterised layers `split_frozen` would cache (empty: nothing to gain)."""
    lower, _ = split_frozen(model)
    return [n for n in layer_names(model) if n in dict(lower.named_children())]


@torch.no_grad()
def cache_features(lower: nn.Module, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """`lower(x)` computed once, batch by batch, in evaluation mode (equal to training mode here)."""
    was = lower.training
    lower.eval()
    out = torch.cat([lower(x[s : s + batch_size]) for s in range(0, len(x), batch_size)]) if len(x) else x
    lower.train(was)
    return out  # (n, features of the last cached layer)
