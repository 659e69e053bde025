"""Image augmentation of whole training batches on their device: shifts, rotations, flips, Gaussian noise.

One `affine_grid` + `grid_sample` call moves every image of the batch; no per-image Python loop. Evaluation
never sees it: the Trainer applies it to training batches only.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.nn import functional as F

from deepfit.errors import ConfigError

Tensor = torch.Tensor
Augment = Callable[[Tensor], Tensor]


def build_augment(
    input_shape: tuple[int, ...],
    *,
    shift: int = 0,
    rotate: float = 0.0,
    flip: bool = False,
    noise: float = 0.0,
    mean: Tensor | None = None,
    std: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Augment | None:
    """`augment(x) -> x'` for batches of shape (batch, *input_shape); None when every option is off.

    Args:
        input_shape: (H, W) or (C, H, W) for the geometric options; noise alone works on any shape.
        shift: largest shift in whole pixels; each image moves by integers drawn from [-shift, shift].
        rotate: largest rotation in degrees, drawn uniformly from [-rotate, rotate] (bilinear).
        flip: mirror each image left-right with probability 1/2. Off by default: it would confuse
            classes that differ by handedness, and Fashion-MNIST's shoes all point one way.
        noise: standard deviation of Gaussian noise added after the geometric moves, in the units of
            the (standardised) inputs.
        mean, std: the standardisation statistics (shape `input_shape`) when the inputs are standardised.
            Images are then moved in pixel space, `x * std + mean`, so the pixels that come in at the
            border are raw zeros (Fashion-MNIST's background), and standardised again.
        generator: the source of randomness on the batches' device, for reproducible runs.
    """
    if isinstance(shift, bool) or not isinstance(shift, int) or shift < 0:
        raise ConfigError(f"augment.shift: expected a whole number of pixels >= 0, got {shift!r}")
    if not 0 <= rotate <= 180:
        raise ConfigError(f"augment.rotate: expected degrees in [0, 180], got {rotate!r}")
    if not noise >= 0:
        raise ConfigError(f"augment.noise: expected a standard deviation >= 0, got {noise!r}")
    geometric = shift > 0 or rotate > 0 or flip
    if geometric and len(input_shape) not in (2, 3):
        asked = ", ".join(k for k, v in (("shift", shift), ("rotate", rotate), ("flip", flip)) if v)
        raise ConfigError(
            f"augment.{asked.split(', ')[0]}: {asked} need image samples of shape (H, W) or (C, H, W), "
            f"got input_shape {tuple(input_shape)}"
        )
    if not geometric and noise == 0:
        return None

    def augment(x: Tensor) -> Tensor:
        if geometric:
            x = _move(x, input_shape, shift, rotate, flip, mean, std, generator)
        if noise > 0:
            x = x + noise * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x

    return augment


def _move(
    x: Tensor,
    shape: tuple[int, ...],
    shift: int,
    rotate: float,
    flip: bool,
    mean: Tensor | None,
    std: Tensor | None,
    g: torch.Generator | None,
) -> Tensor:
    """Shift, rotate and flip each image of the batch with one sampling grid; border fill is pixel 0."""
    n, (h, w) = x.shape[0], shape[-2:]
    dev, dt = x.device, x.dtype
    if std is not None:
        x = x * std.to(dev) + mean.to(dev)  # pixel space
    img = x.reshape(n, -1, h, w)  # (n, channels, H, W)
    angle = (torch.rand(n, generator=g, device=dev) * 2 - 1) * math.radians(rotate)
    cos, sin = angle.cos(), angle.sin()
    sx = torch.ones(n, device=dev)
    if flip:
        sx = torch.where(torch.rand(n, generator=g, device=dev) < 0.5, -sx, sx)
    d = torch.randint(-shift, shift + 1, (n, 2), generator=g, device=dev).to(dt)  # (n, [dx, dy]) pixels
    theta = torch.zeros(n, 2, 3, device=dev, dtype=dt)
    # output (u, v) samples input R(angle) diag(sx, 1) (u, v) - shift; a shift of d pixels is 2d/size
    # in grid_sample's [-1, 1] coordinates (align_corners=False puts pixel centres on that lattice).
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 0, 2] = cos * sx, -sin, -2 * d[:, 0] / w
    theta[:, 1, 0], theta[:, 1, 1], theta[:, 1, 2] = sin * sx, cos, -2 * d[:, 1] / h
    grid = F.affine_grid(theta, list(img.shape), align_corners=False)  # (n, H, W, 2)
    mode = "bilinear" if rotate > 0 else "nearest"  # integer shifts and flips are exact with nearest
    out = F.grid_sample(img, grid, mode=mode, padding_mode="zeros", align_corners=False).reshape(x.shape)
    if std is not None:
        out = (out - mean.to(dev)) / std.to(dev)
    return out
