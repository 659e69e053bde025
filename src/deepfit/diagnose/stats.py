"""Per-layer statistics of a network on a probe batch, and the doctor's probe that records them while it trains.

Each hidden layer of a dense net (in forward order) gets the mean and std of its pre-activations and
activations, the fraction of saturated units (sigmoid and tanh), of dead units (the ReLU family), its
kernel's gradient norm and weight norm, how far its units' incoming weight rows spread apart (a constant or
symmetric initialisation makes them identical), its update ratio since the last probe, and its batch-norm
running statistics where it has them; and the probe batch's loss and accuracy. Everything is read back in
one transfer per probe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from deepfit.nn.sequence import flat_layers
from deepfit.train import Callback
from deepfit.train.callbacks.base import Logs

Tensor = torch.Tensor

SATURATION_MARGIN = 0.02
"""A sigmoid unit is saturated when its output is within 0.02 of 0 or 1, a tanh unit within 0.02 of -1 or 1:
there the activation's slope is below 0.02 (sigmoid) or 0.04 (tanh) of its maximum, so almost no gradient
flows back through it (Glorot & Bengio 2010 watch the same plateaus)."""

_RELU_FAMILY = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.RReLU, nn.PReLU)
_SATURATING = {nn.Sigmoid: (0.0, 1.0), nn.Tanh: (-1.0, 1.0), nn.Hardsigmoid: (0.0, 1.0)}
FIELDS = ("pre_mean", "pre_std", "act_mean", "act_std", "saturated", "dead", "grad_norm", "weight_norm",
          "unit_spread", "update_ratio", "bn_mean", "bn_var")


@dataclass
class _Layer:
    name: str  # the dense layer (`hidden1`, ..., `output`)
    linear: nn.Linear
    activation: nn.Module | None
    norm: nn.Module | None


def dense_layers(model: nn.Module) -> list[_Layer]:
    """The model's dense layers in forward order, each with the activation and batch norm that follow it."""
    layers: list[_Layer] = []
    for name, module in flat_layers(model):
        if isinstance(module, nn.Linear):
            layers.append(_Layer(name.removesuffix(".linear"), module, None, None))
        elif layers and isinstance(module, nn.modules.batchnorm._BatchNorm):
            layers[-1].norm = module
        elif layers and not isinstance(module, nn.modules.dropout._DropoutNd | nn.Flatten) and not any(
            module.children()
        ):
            layers[-1].activation = module
    return layers


def activation_kind(module: nn.Module | None) -> str:
    """`relu_family`, `saturating`, `selu` or `other`: what the doctor can say about a layer's units."""
    if isinstance(module, _RELU_FAMILY):
        return "relu_family"
    if module is not None and type(module) in _SATURATING:
        return "saturating"
    return "selu" if isinstance(module, nn.SELU) else "other"


def unit_spread(weight: Tensor) -> Tensor:
    """How far the units' incoming weight rows lie from their mean row, relative to the kernel's norm.

    ```
    spread = ||W - mean_rows(W)||_F / ||W||_F        W: (units, inputs)
    ```
    Independent random rows give sqrt(1 - 1/units), about 1; identical rows (a constant initialisation,
    or one that copies a unit) give 0, and so does an all-zero kernel: its units are as alike as can be.
    """
    w = weight.detach().float()
    deviation = torch.linalg.vector_norm(w - w.mean(dim=0, keepdim=True))
    return deviation / torch.linalg.vector_norm(w).clamp_min(torch.finfo(torch.float32).tiny)


def layer_statistics(
    model: nn.Module, objective: Any, x: Tensor, y: Tensor, previous: list[Tensor] | None = None
) -> tuple[dict[str, Any], list[Tensor]]:
    """The statistics of every dense layer of `model` on the batch (x, y), in training mode (dropout on).

    `previous` are the kernels at the last probe (for the update ratio); returns the statistics (JSON-ready:
    `loss`, `acc` (NaN where the objective has no accuracy), `input_mean`, `input_std`, and one dict per
    layer with `FIELDS`) and copies of the kernels now.
    The model's `.grad` fields are not touched (the gradients come from `torch.autograd.grad`).
    """
    layers = dense_layers(model)
    captured: dict[int, tuple[Tensor, Tensor]] = {}
    handles = []
    for i, layer in enumerate(layers):
        if layer.activation is not None:
            def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor, i: int = i) -> None:
                captured[i] = (inputs[0].detach(), output.detach())

            handles.append(layer.activation.register_forward_hook(hook))
    model.train()
    try:
        with torch.enable_grad():
            out = model(x)
            loss = objective.mean_loss(out, y)
            hits = objective.hits(out.detach(), y).mean() if objective.hits is not None else None
            kernels = [layer.linear.weight for layer in layers]
            trainable = [k for k in kernels if k.requires_grad]
            grads = dict(zip(map(id, trainable), torch.autograd.grad(loss, trainable), strict=True)) if trainable \
                else {}
    finally:
        for h in handles:
            h.remove()
    nan = torch.tensor(float("nan"), device=x.device)
    rows = []
    for i, (layer, kernel) in enumerate(zip(layers, kernels, strict=True)):
        w = kernel.detach()
        g = grads.get(id(kernel))
        row = {"grad_norm": torch.linalg.vector_norm(g) if g is not None else nan,
               "weight_norm": torch.linalg.vector_norm(w),
               "unit_spread": unit_spread(w),
               "update_ratio": (torch.linalg.vector_norm(w - previous[i]) / torch.linalg.vector_norm(previous[i])
                                if previous is not None else nan)}
        pre, act = captured.get(i, (None, None))
        if pre is not None:
            row.update(pre_mean=pre.mean(), pre_std=pre.std(), act_mean=act.mean(), act_std=act.std())
            kind = activation_kind(layer.activation)
            if kind == "saturating":
                low, high = _SATURATING[type(layer.activation)]
                row["saturated"] = ((act < low + SATURATION_MARGIN) | (act > high - SATURATION_MARGIN)).float().mean()
            if kind == "relu_family":
                row["dead"] = (pre <= 0).all(dim=0).float().mean()  # units off for every sample of the batch
        if layer.norm is not None and getattr(layer.norm, "running_mean", None) is not None:
            row.update(bn_mean=layer.norm.running_mean.abs().mean(), bn_var=layer.norm.running_var.mean())
        rows.append(row)
    keys = [(i, k) for i, r in enumerate(rows) for k in r]
    tail = [loss.detach().float(), hits.float() if hits is not None else nan, x.float().mean(), x.float().std()]
    values = torch.stack([rows[i][k].float() for i, k in keys] + tail).tolist()  # one read
    out_rows: list[dict[str, float]] = [{} for _ in rows]
    for (i, k), v in zip(keys, values, strict=False):
        out_rows[i][k] = v
    stats = {"loss": values[-4], "acc": values[-3], "input_mean": values[-2], "input_std": values[-1],
             "layers": out_rows}
    return stats, [k.detach().clone() for k in kernels]


class DoctorProbe(Callback):
    """Records `layer_statistics` on every probe event, and each epoch's history row, for the doctor's rules.

    `record` is JSON-ready: `{"layers": [names], "activations": [kinds], "fans": [[fan_in, fan_out]],
    "probes": [{"step", "epoch", "lr", "steps_since", "samples", "loss", "acc", "input_mean", "input_std", "layers":
    [...]}], "epochs": [history rows]}`. The
    update ratio is per step: `||w_t - w_{t-n}|| / ||w_{t-n}|| / n` over the `n` steps since the last probe.
    """

    per_member = True

    def __init__(self) -> None:
        self.record: dict[str, Any] = {"layers": [], "activations": [], "fans": [], "probes": [], "epochs": []}
        self._previous: list[Tensor] | None = None
        self._last_step = 0

    def on_probe(self, view: Any, logs: Logs) -> None:
        model = view.model
        if not self.record["layers"]:
            layers = dense_layers(model)
            self.record["layers"] = [layer.name for layer in layers]
            self.record["activations"] = [type(layer.activation).__name__ if layer.activation is not None else None
                                          for layer in layers]
            self.record["fans"] = [[layer.linear.in_features, layer.linear.out_features] for layer in layers]
        stats, kernels = layer_statistics(model, view.objective, logs["x"], logs["y"], self._previous)
        since = logs["step"] - self._last_step
        for row in stats["layers"]:
            if since > 0 and math.isfinite(row["update_ratio"]):
                row["update_ratio"] /= since
        self.record["probes"].append({"step": logs["step"], "epoch": logs["epoch"], "lr": view.lr,
                                      "steps_since": since, "samples": int(logs["y"].shape[0]), **stats})
        self._previous, self._last_step = kernels, logs["step"]

    def on_epoch_end(self, view: Any, logs: Logs) -> None:
        self.record["epochs"].append({k: v for k, v in logs.items() if isinstance(v, int | float)})
