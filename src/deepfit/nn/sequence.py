"""A model as a flat list of its primitive layers in forward order, for code that reasons about the stack.

Only structures whose forward order is known are opened (`nn.Sequential`, `DenseBlock`); anything else is
one opaque item, so callers can tell a plain sequential stack from a model with its own `forward`.
"""

from __future__ import annotations

from torch import nn

from deepfit.nn.blocks import DenseBlock

_BLOCK_PARTS = {"linear", "norm", "activation", "dropout"}


def flat_layers(model: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    """`(dotted name, module)` for each primitive layer of `model` in the order `forward` applies them.

    `nn.Identity` layers are left out. A `DenseBlock` opens as `linear -> [norm] -> activation -> [norm]
    -> dropout` following its `norm_position`; a block with parts other than these stays one item.
    """
    if isinstance(model, nn.Sequential):
        out: list[tuple[str, nn.Module]] = []
        for name, child in model.named_children():
            out += flat_layers(child, f"{prefix}{name}.")
        return out
    if isinstance(model, DenseBlock) and {n for n, _ in model.named_children()} <= _BLOCK_PARTS:
        order = ["linear", "norm", "activation", "dropout"]
        if model.norm_position == "after":
            order = ["linear", "activation", "norm", "dropout"]
        parts = [(f"{prefix}{n}", getattr(model, n)) for n in order if hasattr(model, n)]
        return [(n, m) for n, m in parts if not isinstance(m, nn.Identity)]
    if isinstance(model, nn.Identity):
        return []
    return [(prefix.rstrip("."), model)]
