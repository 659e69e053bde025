"""Probes on layers: per-layer gradient norms recorded through hooks that are always removed.

Statistics stay on the device while training runs and are read once per epoch; nothing here syncs per step.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from deepfit.train.callbacks.base import Callback, Logs

Tensor = torch.Tensor


class GradientNorms:
    """Context manager recording `||dL/dW||` of each `nn.Linear` kernel of `model` on every backward pass.

    Per layer (in forward order, `names`): the norm at the first backward pass after `reset(steps)`
    (`first`), at pass number `steps` (`last`), and the sum over passes (`total`, with `passes`), all
    device tensors. The hooks are removed on exit, even after an exception (fastai's `Hook`).
    """

    def __init__(self, model: nn.Module) -> None:
        named = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear) and m.weight.requires_grad]
        self.names = [n for n, _ in named]
        self._weights = [m.weight for _, m in named]
        device = self._weights[0].device if self._weights else torch.device("cpu")
        self.first = torch.full((len(named),), float("nan"), device=device)
        self.last = torch.full_like(self.first, float("nan"))
        self.total = torch.zeros_like(self.first)
        self.passes = [0] * len(named)
        self.steps = 0
        self._handles: list[Any] = []

    def reset(self, steps: int) -> None:
        """Start a new interval of `steps` backward passes (an epoch)."""
        self.steps = steps
        self.first.fill_(float("nan"))
        self.last.fill_(float("nan"))
        self.total.zero_()
        self.passes = [0] * len(self.passes)

    def _hook(self, i: int):
        def record(grad: Tensor) -> None:
            norm = torch.linalg.vector_norm(grad.detach(), dtype=torch.float32)
            self.passes[i] += 1
            self.total[i] += norm
            if self.passes[i] == 1:
                self.first[i] = norm
            if self.passes[i] == self.steps:
                self.last[i] = norm

        return record

    def __enter__(self) -> GradientNorms:
        self._handles = [w.register_hook(self._hook(i)) for i, w in enumerate(self._weights)]
        return self

    def __exit__(self, *exc: object) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def read(self) -> dict[str, list[float]]:
        """`first`, `last` and `mean` per layer, read back to the host in one transfer."""
        passes = torch.tensor([max(p, 1) for p in self.passes], device=self.total.device)
        first, last, mean = torch.stack([self.first, self.last, self.total / passes]).tolist()
        return {"first": first, "last": last, "mean": mean}


class GradientNormProbe(Callback):
    """Records per-layer gradient norms during `fit`: at initialisation (the first step) and, for each
    epoch, at its last step and averaged over its steps. `record` is JSON-ready:
    `{"layers": [...], "init": [...], "epochs": {"1": {"last": [...], "mean": [...]}, ...}}`.
    """

    def __init__(self) -> None:
        self.record: dict[str, Any] = {"layers": [], "init": [], "epochs": {}}
        self._probe: GradientNorms | None = None

    def on_fit_begin(self, trainer: Any, logs: Logs) -> None:
        self._probe = GradientNorms(trainer.model).__enter__()
        self.record["layers"] = self._probe.names

    def on_epoch_begin(self, trainer: Any, logs: Logs) -> None:
        self._probe.reset(logs["steps"])

    def on_epoch_end(self, trainer: Any, logs: Logs) -> None:
        stats = self._probe.read()
        if not self.record["init"]:
            self.record["init"] = stats["first"]
        self.record["epochs"][str(logs["epoch"])] = {"last": stats["last"], "mean": stats["mean"]}

    def on_fit_end(self, trainer: Any, logs: Logs) -> None:
        if self._probe is not None:
            self._probe.__exit__(None, None, None)
            self._probe = None
