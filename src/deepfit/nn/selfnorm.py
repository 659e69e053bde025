"""Check the conditions under which a SELU network self-normalizes, and say how to fix each broken one.

A check, not a proof: it reads the model's structure, its initializers (from the spec, or from the weights'
variance at initialisation) and a sample of the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from deepfit.nn.build import ModelSpec, layer_initializers
from deepfit.nn.init import INITIALIZERS
from deepfit.nn.sequence import flat_layers

_DROPOUTS = (nn.modules.dropout._DropoutNd,)
_STRUCTURE = (nn.Flatten, nn.Linear, nn.modules.batchnorm._BatchNorm, *_DROPOUTS)
_LECUN = "lecun_normal"


@dataclass(frozen=True)
class Violation:
    """One broken condition: what it is, what was found, and how to fix it."""

    condition: str
    found: str
    fix: str


def check_self_normalizing(
    model: nn.Module,
    data: torch.Tensor | None = None,
    *,
    spec: ModelSpec | None = None,
    penalized: bool = False,
    tolerance: float = 0.15,
) -> list[Violation]:
    """The conditions for SELU self-normalization that `model` breaks (an empty list when it meets them).

    Klambauer et al. (2017) show that activations keep mean 0 and variance 1 through depth when (Géron,
    ch. 11): the network is a plain sequential stack of dense layers; every hidden layer uses SELU; the
    kernels use LeCun normal initialisation (variance 1 / fan_in); the inputs are standardised (mean 0,
    std 1); there is no batch norm; dropout, if any, is alpha dropout; and there is no l1/l2 penalty.

    Args:
        data: a sample of the model's inputs; their overall mean and std must lie within `tolerance` of 0
            and 1. Not checked when None.
        spec: the model's `ModelSpec`, to read the initializers by name. Without it the hidden kernels'
            variance is compared with 1 / fan_in, which is meaningful before training only.
        penalized: whether the training adds an l1/l2 penalty (a property of the training, not the model).
    """
    layers = flat_layers(model)
    found: list[Violation] = []
    nested = [n or type(m).__name__ for n, m in layers if not isinstance(m, _STRUCTURE) and any(m.children())]
    if nested:
        found.append(
            Violation(
                "plain sequential dense stack",
                f"layers with their own forward: {nested}",
                "use a plain stack of dense layers (no skip connections or custom blocks)",
            )
        )
    linears = [(n, m) for n, m in layers if isinstance(m, nn.Linear)]
    acts = [(n, m) for n, m in layers if not isinstance(m, _STRUCTURE) and not any(m.children())]
    others = sorted({type(m).__name__ for _, m in acts if not isinstance(m, nn.SELU)})
    if others or len(acts) < len(linears) - 1:
        what = f"activations {others}" if others else f"{len(acts)} activations for {len(linears) - 1} hidden layers"
        found.append(Violation("SELU everywhere", what, 'set model.activation = "selu" for every hidden layer'))
    bad_init = _non_lecun_layers(linears[:-1], spec)
    if bad_init:
        found.append(
            Violation(
                "LeCun normal initialisation",
                bad_init,
                'set model.init = "lecun_normal" (or "auto") and no other layer_init on hidden layers',
            )
        )
    if data is not None:
        x = data.detach().float()
        mean, std = x.mean().item(), x.std().item()
        if abs(mean) > tolerance or abs(std - 1) > tolerance:
            found.append(
                Violation(
                    "standardised inputs",
                    f"the inputs' overall mean is {mean:.3g} and std {std:.3g}, expected within {tolerance:g} of "
                    "0 and 1",
                    "standardise each feature (data.standardize = true)",
                )
            )
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        found.append(
            Violation("no batch norm", "batch norm layers", 'set model.norm = "none" and model.input_norm = false')
        )
    plain = [n for n, m in model.named_modules() if isinstance(m, nn.Dropout) and m.p > 0]
    if plain:
        found.append(
            Violation(
                "alpha dropout only", f"plain dropout in {plain}", 'set model.dropout_kind = "alpha", or drop dropout'
            )
        )
    if penalized:
        found.append(Violation("no l1/l2 penalty", "a weight penalty", "remove the l1/l2 penalty"))
    return found


def _non_lecun_layers(hidden: list[tuple[str, nn.Linear]], spec: ModelSpec | None) -> str:
    """'' when every hidden kernel is LeCun normal, else which layers are not (by name or by variance)."""
    if spec is not None:
        inits = layer_initializers(spec)
        bad = {k: v for k, v in inits.items() if k != "output" and _init_name(v) != _LECUN}
        return ", ".join(f"{k}: {v}" for k, v in bad.items())
    bad_var = []
    for name, linear in hidden:
        ratio = linear.weight.detach().double().var().item() * linear.in_features  # 1 for LeCun
        if not 0.8 <= ratio <= 1.25:
            bad_var.append(f"{name}: var(W) * fan_in = {ratio:.3g}")
    return ", ".join(bad_var)


def _init_name(spec: str | dict) -> str:
    name = spec.get("name", "") if isinstance(spec, dict) else spec
    return INITIALIZERS.canonical(name) if isinstance(name, str) and name in INITIALIZERS else str(name)
