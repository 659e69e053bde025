"""The dense block: linear -> [batch norm] -> activation -> [batch norm] -> [dropout]."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
from torch import nn

from deepfit.nn.dropout import build_dropout
from deepfit.nn.keras_batchnorm import batch_norm

Norm = Literal["none", "before", "after"]


class DenseBlock(nn.Module):
    """One hidden layer of a dense network.

    `norm="before"` puts batch norm between the linear layer and the activation (Ioffe & Szegedy, 2015), and
    the linear layer then has no bias, since batch norm's shift makes it redundant; `norm="after"` puts it
    after the activation. `norm_options` (`momentum`, `eps`, `biased`) go to `nn.batchnorm.batch_norm`
    unchanged, so torch's defaults and PyTorch's momentum convention apply (docs/batchnorm.md).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: nn.Module,
        *,
        norm: Norm = "none",
        dropout: float = 0.0,
        dropout_kind: str = "standard",
        norm_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.norm_position = norm
        self.linear = nn.Linear(in_features, out_features, bias=norm != "before")
        self.norm = batch_norm(out_features, **(norm_options or {})) if norm != "none" else nn.Identity()
        self.activation = activation
        self.dropout = build_dropout(dropout_kind, dropout)  # standard or alpha (for SELU), see nn/dropout.py

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x)  # (batch, out_features)
        if self.norm_position == "before":
            x = self.norm(x)
        x = self.activation(x)
        if self.norm_position == "after":
            x = self.norm(x)
        return self.dropout(x)
