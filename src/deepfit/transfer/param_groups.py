"""Per-group learning rates: reused layers learn more slowly than new ones.

The groups are plain torch.optim param-group dicts with their own `lr`; `optim.apply_lr_` keeps them in
proportion when a schedule runs (it scales each group by its initial lr over the base lr).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import nn

from deepfit.errors import ConfigError
from deepfit.transfer.freeze import LayerSelector, select_layers


def param_groups(
    model: nn.Module, lr: float, *, reused: LayerSelector = (), lr_factor: float = 0.1, head_lr_factor: float = 1.0
) -> list[dict[str, Any]]:
    """Trainable parameters split into a `new` group (lr * head_lr_factor) and a `reused` group (lr * lr_factor).

    Frozen parameters are left out, so the optimizer keeps no state for them. The `new` group comes
    first, so `optimizer.param_groups[0]["lr"]` (what the history logs) is the new layers' rate. Empty
    groups are dropped. Defaults: reused layers at a tenth of the rate, as Géron (ch. 11) does when he
    unfreezes the reused layers.
    """
    for name, factor in (("lr_factor", lr_factor), ("head_lr_factor", head_lr_factor)):
        if not factor > 0:
            raise ConfigError(f"param groups: {name} must be > 0, got {factor}")
    reused_names = set(select_layers(model, reused)) if reused != () else set()
    groups: dict[str, list[nn.Parameter]] = {"new": [], "reused": []}
    for name, child in model.named_children():
        key = "reused" if name in reused_names else "new"
        groups[key] += [p for p in child.parameters() if p.requires_grad]
    rates = {"new": lr * head_lr_factor, "reused": lr * lr_factor}
    return [{"params": ps, "lr": rates[k], "name": k} for k, ps in groups.items() if ps]


def group_sizes(groups: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Number of scalar parameters per named group (for logs and tests)."""
    return {g.get("name", str(i)): sum(p.numel() for p in g["params"]) for i, g in enumerate(groups)}
