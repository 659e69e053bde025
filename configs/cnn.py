"""A small convolutional network for Fashion-MNIST, as a deepfit model factory (docs/own-model.md).

Two conv blocks (3x3 conv -> batch norm -> ReLU -> 2x2 max pooling) and a dense head with dropout, He
initialization throughout (Géron, ch. 11 and 14). Train it with `deepfit train --config configs/cnn.toml`
or `deepfit train --model configs/cnn.py:build`.
"""

from __future__ import annotations

from torch import nn


def build(
    input_shape: tuple[int, ...], num_outputs: int, channels: tuple[int, ...] = (32, 64), hidden: int = 128,
    dropout: float = 0.3,
) -> nn.Sequential:
    """The network for samples of `input_shape`, (height, width) or (channels, height, width).

    Each block halves the height and width, so `len(channels)` blocks need sides divisible by 2 that often.
    """
    if len(input_shape) not in (2, 3):
        raise ValueError(f"expected images of shape (height, width) or (channels, height, width), got {input_shape}")
    layers: list[nn.Module] = []
    if len(input_shape) == 2:
        layers.append(nn.Unflatten(1, (1, input_shape[0])))  # (batch, h, w) -> (batch, 1, h, w)
        input_shape = (1, *input_shape)
    c, h, w = input_shape
    for out in channels:
        layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(), nn.MaxPool2d(2)]
        c, h, w = out, h // 2, w // 2
    layers += [nn.Flatten(), nn.Linear(c * h * w, hidden), nn.ReLU(), nn.Dropout(dropout),
               nn.Linear(hidden, num_outputs)]
    for m in layers:
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")  # He et al. 2015
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return nn.Sequential(*layers)
