"""The regularization parts of a Trainer: the step's penalty and constraint hooks and batch augmentation.

Takes plain values (run.py reads them from `[regularization]`); the builders live in optim/ and data/.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from deepfit.data import Splits
from deepfit.data.augment import build_augment
from deepfit.optim import build_max_norm, build_penalty, chain

# Offset of the augmentation generator's seed from the run's seed, so its stream differs from the shuffle's.
AUGMENT_SEED_OFFSET = 7919


def regularization_hooks(
    model: nn.Module,
    *,
    penalty: Any = None,
    layers: Mapping[str, Any] | None = None,
    max_norm: Mapping[str, Any] | None = None,
    augment: Mapping[str, Any] | None = None,
    splits: Splits | None = None,
    device: torch.device | str = "cpu",
    seed: int = 0,
    constrain: Callable[[nn.Module], None] | None = None,
) -> dict[str, Any]:
    """`penalty`, `constrain` and `augment` keyword arguments for `Trainer` (each None when off).

    `penalty` and `layers` go to `build_penalty`, `max_norm` to `build_max_norm`, `augment` to
    `build_augment` (with the image shape and standardisation of `splits`, and a generator seeded from
    `seed`); `constrain` is another constraint (e.g. pruning masks) to apply after max-norm.
    """
    max_norm_hook = build_max_norm(model, **max_norm) if max_norm is not None else None
    augment_fn = None
    if augment is not None and splits is not None:
        generator = torch.Generator(device=device).manual_seed(seed + AUGMENT_SEED_OFFSET)
        augment_fn = build_augment(splits.input_shape, mean=splits.mean, std=splits.std, generator=generator, **augment)
    return {
        "penalty": build_penalty(model, penalty, layers=layers),
        "constrain": chain(max_norm_hook, constrain),
        "augment": augment_fn,
    }
