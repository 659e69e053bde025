"""The dense block: linear -> [batch norm] -> activation -> [batch norm] -> [dropout]."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Norm = Literal["none", "before", "after"]


class DenseBlock(nn.Module):
    """One hidden layer of a dense network.

    `norm="before"` puts batch norm between the linear layer and the activation (Ioffe & Szegedy, 2015), and
    the linear layer then has no bias, since batch norm's shift makes it redundant; `norm="after"` puts it
    after the activation.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: nn.Module,
        *,
        norm: Norm = "none",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.norm_position = norm
        self.linear = nn.Linear(in_features, out_features, bias=norm != "before")
        self.norm = nn.BatchNorm1d(out_features) if norm != "none" else nn.Identity()
        self.activation = activation
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x)  # (batch, out_features)
        if self.norm_position == "before":
            x = self.norm(x)
        x = self.activation(x)
        if self.norm_position == "after":
            x = self.norm(x)
        return self.dropout(x)
