"""The kernels (Linear weights) of a model by name, and per-layer settings matched to them.

Penalties, max-norm and pruning act on kernels only: never on biases (unless asked) and never on batch norm.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from deepfit.errors import ConfigError


def named_linears(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """Every `nn.Linear` of `model` with its module name (e.g. `hidden1.linear`, `output`), bottom first."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]


def layer_settings(names: list[str], default: Any, layers: Mapping[str, Any] | None, *, field: str) -> dict[str, Any]:
    """The setting of each layer: `default`, overridden by the entry of `layers` whose key names it.

    A key names a layer when it equals the module name or is a prefix of it up to a dot, so `hidden1`
    governs `hidden1.linear`; the longest matching key wins. A key that names no layer is a `ConfigError`.
    """
    layers = dict(layers or {})
    for key in layers:
        if not any(_matches(key, n) for n in names):
            raise ConfigError(f"{field}: {key!r} names no layer; valid: {', '.join(names)}")
    out = {}
    for n in names:
        keys = sorted((k for k in layers if _matches(k, n)), key=len)
        out[n] = layers[keys[-1]] if keys else default
    return out


def _matches(key: str, name: str) -> bool:
    return name == key or name.startswith(key + ".")
