"""Batch norm options (PyTorch's momentum convention) and folding batch norm into linear layers for inference.

Folding is exact only in evaluation mode: the folded model uses the moving averages, never batch statistics.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from deepfit.errors import ConfigError
from deepfit.nn.sequence import flat_layers

Tensor = torch.Tensor


def batchnorm_options(momentum: float | None = None, eps: float | None = None, running_var: str | None = None
                      ) -> dict[str, Any]:
    """Keyword arguments for `nn.BatchNorm1d` from the ones a user set (torch's defaults for the rest).

    `momentum` follows PyTorch's convention, the weight of the new batch in the moving average:
    ```
    PyTorch: running = (1 - momentum) * running + momentum * batch      default momentum = 0.1
    Keras:   running = momentum * running + (1 - momentum) * batch      default momentum = 0.99
    momentum_pytorch = 1 - momentum_keras    (Keras 0.99 == PyTorch 0.01)
    ```

    `running_var` is the batch variance the moving variance averages: "unbiased" (torch's, the default) or
    "biased" (Keras's), see `nn.keras_batchnorm.BiasedBatchNorm1d`; `batch_norm` there takes these options.

    Raises:
        ConfigError: momentum outside (0, 1], eps <= 0, or running_var neither "unbiased" nor "biased".
    """
    options: dict[str, Any] = {}
    if momentum is not None:
        if not 0 < momentum <= 1:
            raise ConfigError(
                f"model.norm_momentum: expected a number in (0, 1] (PyTorch convention; Keras 0.99 is 0.01), "
                f"got {momentum}"
            )
        options["momentum"] = float(momentum)
    if eps is not None:
        if not eps > 0:
            raise ConfigError(f"model.norm_eps: expected a number > 0, got {eps}")
        options["eps"] = float(eps)
    if running_var is not None:
        if running_var not in ("unbiased", "biased"):
            raise ConfigError(f'model.norm_running_var: expected "unbiased" or "biased", got {running_var!r}')
        options["biased"] = running_var == "biased"
    return options


class Affine(nn.Module):
    """`y = x * scale + shift` per feature: what an inference-mode batch norm computes, without its name."""

    def __init__(self, scale: Tensor, shift: Tensor) -> None:
        super().__init__()
        self.register_buffer("scale", scale.detach().clone())
        self.register_buffer("shift", shift.detach().clone())

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale + self.shift  # (batch, features)


def _bn_affine(bn: nn.BatchNorm1d) -> tuple[Tensor, Tensor]:
    """(scale, shift) in float64 with `bn(x) == x * scale + shift` in evaluation mode."""
    std = torch.sqrt(bn.running_var.double() + bn.eps)
    gamma = bn.weight.detach().double() if bn.weight is not None else torch.ones_like(std)
    beta = bn.bias.detach().double() if bn.bias is not None else torch.zeros_like(std)
    scale = gamma / std
    return scale, beta - bn.running_mean.double() * scale


def _with_bias(linear: nn.Linear) -> nn.Linear:
    """A copy of `linear` that has a bias (zero if it had none)."""
    out = nn.Linear(
        linear.in_features, linear.out_features, bias=True, device=linear.weight.device, dtype=linear.weight.dtype
    )
    with torch.no_grad():
        out.weight.copy_(linear.weight)
        out.bias.copy_(linear.bias if linear.bias is not None else torch.zeros_like(out.bias))
    return out


def _fold_after(linear: nn.Linear, scale: Tensor, shift: Tensor) -> nn.Linear:
    """`bn(linear(x))` as one linear layer: `W' = diag(scale) W`, `b' = scale * b + shift`."""
    out = _with_bias(linear)
    with torch.no_grad():
        w, b = out.weight.double(), out.bias.double()
        out.weight.copy_(scale[:, None] * w)
        out.bias.copy_(scale * b + shift)
    return out


def _fold_before(linear: nn.Linear, scale: Tensor, shift: Tensor) -> nn.Linear:
    """`linear(bn(x))` as one linear layer: `W' = W diag(scale)`, `b' = b + W shift`."""
    out = _with_bias(linear)
    with torch.no_grad():
        w, b = out.weight.double(), out.bias.double()
        out.weight.copy_(w * scale[None, :])
        out.bias.copy_(b + w @ shift)
    return out


def _foldable(m: nn.Module) -> bool:
    return isinstance(m, nn.BatchNorm1d) and m.track_running_stats and m.running_var is not None


def fold_batchnorm(model: nn.Module) -> nn.Sequential:
    """An equivalent inference model with each batch norm merged into a neighbouring linear layer.

    In evaluation mode batch norm is the per-feature affine map `x * scale + shift` with
    `scale = gamma / sqrt(running_var + eps)` and `shift = beta - running_mean * scale`, so:
    ```
    BN right after a linear layer (norm "before"):   W' = diag(scale) W,  b' = scale * b + shift
    BN before a linear layer (norm "after", input):  W' = W diag(scale),  b' = b + W shift
    ```
    A batch norm right after a linear layer folds into it; otherwise into the next linear layer when
    nothing but dropout lies between (an input BN layer, or BN after the activation); otherwise it becomes
    an `Affine` layer with the same effect. A batch norm without running statistics stays as it is.
    Dropout layers are dropped (they are the identity at inference), so MC Dropout needs the original.
    The model is opened with `flat_layers`; the result is a new flat `nn.Sequential` in evaluation mode,
    and `model` is left unchanged. Computed in float64, so outputs match within float32 rounding.
    """
    dropout_types = (nn.modules.dropout._DropoutNd,)
    layers = [(n, copy.deepcopy(m)) for n, m in flat_layers(model) if not isinstance(m, dropout_types)]
    out: list[tuple[str, nn.Module]] = []
    pending: tuple[Tensor, Tensor] | None = None  # a BN waiting to fold into the next linear layer
    for i, (name, m) in enumerate(layers):
        if pending is not None:  # the loop below only leaves a BN pending when layers[i] is a linear layer
            m = _fold_before(m, *pending)
            pending = None
        if not _foldable(m):
            out.append((name, m))
            continue
        scale, shift = _bn_affine(m)
        if out and isinstance(out[-1][1], nn.Linear):
            out[-1] = (out[-1][0], _fold_after(out[-1][1], scale, shift))
        elif i + 1 < len(layers) and isinstance(layers[i + 1][1], nn.Linear):
            pending = (scale, shift)
        else:
            out.append((name, Affine(scale.to(m.running_mean.dtype), shift.to(m.running_mean.dtype))))
    folded = nn.Sequential(OrderedDict((n.replace(".", "_"), m) for n, m in out))
    return folded.eval()
