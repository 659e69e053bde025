"""Per-layer learning rates: reused layers learn more slowly than new ones.

The factors multiply the run's learning rate (and whatever schedule it follows) for every parameter of a
layer; the Trainer's update rule gives each factor's parameters their own coefficients (`UpdateRule.lr_factors`).
"""

from __future__ import annotations

from torch import nn

from deepfit.errors import ConfigError
from deepfit.transfer.freeze import LayerSelector, select_layers


def lr_factors(
    model: nn.Module, *, reused: LayerSelector = (), lr_factor: float = 0.1, head_lr_factor: float = 1.0
) -> dict[str, float]:
    """The learning-rate factor of each top-level layer of `model`: `lr_factor` for the `reused` layers,
    `head_lr_factor` for the others.

    Defaults: reused layers at a tenth of the rate, new ones at the full rate (deepfit's variation; Géron's
    chapter fine-tunes every layer at the same rate, `lr_factor = head_lr_factor = 1`).
    """
    for name, factor in (("lr_factor", lr_factor), ("head_lr_factor", head_lr_factor)):
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not factor > 0:
            raise ConfigError(f"transfer.{name} must be > 0, got {factor}")
    reused_names = set(select_layers(model, reused)) if reused != () else set()
    return {
        name: float(lr_factor if name in reused_names else head_lr_factor)
        for name, child in model.named_children()
        if any(True for _ in child.parameters())
    }
