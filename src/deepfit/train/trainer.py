"""The Trainer: fit, evaluate and predict on in-memory data, with batches sliced from an on-device permutation."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from deepfit.data import TensorData
from deepfit.errors import CheckpointError, ShapeError
from deepfit.nn.dropout import MCPrediction, mc_predict
from deepfit.optim import Schedule, ScheduleWithMomentum, apply_lr_, momentum_of
from deepfit.train.callbacks.base import Callback
from deepfit.train.history import History
from deepfit.train.lr_finder import LRFinderResult, find_lr
from deepfit.train.objectives import Objective, count_correct
from deepfit.train.seeding import rng_state, set_rng_state
from deepfit.train.step import build_train_step

Tensor = torch.Tensor


class Trainer:
    """Trains `model` with `optimizer` on `objective`, Keras-style: `fit`, `evaluate`, `predict`.

    The training step is built once at the start of `fit`. Per-step work is the step itself plus an index
    slice; per-batch sums stay on the device and are read once per epoch. `schedule` maps the global step
    (or epoch, with `schedule_interval="epoch"`) to a learning rate; None keeps the optimizer's lr.
    """

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        optimizer: torch.optim.Optimizer | None = None,
        *,
        batch_size: int = 32,
        schedule: Schedule | None = None,
        schedule_interval: str = "step",
        callbacks: Sequence[Callback] = (),
        device: torch.device | str = "cpu",
        seed: int = 0,
        eval_batch_size: int = 4096,
        log_every_steps: int = 100,
        penalty: Callable[[nn.Module], Tensor] | None = None,
        clip: Callable[[nn.Module], dict[str, Tensor]] | None = None,
        constrain: Callable[[nn.Module], None] | None = None,
        augment: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.objective, self.optimizer = objective, optimizer
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.schedule, self.schedule_interval = schedule, schedule_interval
        self.lr0 = optimizer.param_groups[0]["lr"] if optimizer is not None else 0.0
        self.callbacks = sorted(callbacks, key=lambda c: c.order)
        self.log_every_steps = log_every_steps
        self.penalty, self.clip, self.constrain = penalty, clip, constrain
        self.augment = augment  # training batches only, on the device (data/augment.py)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.history = History()
        self.epoch = 0  # epochs completed
        self.epochs = 0
        self.step = 0  # optimizer steps taken
        self.stop_training = False

    def fit(self, train: TensorData, valid: TensorData | None = None, epochs: int = 1) -> History:
        """Train until `epochs` epochs are complete (counting epochs from a resumed checkpoint)."""
        if self.optimizer is None:
            raise TypeError("Trainer.fit needs an optimizer; this Trainer was built for evaluation only")
        train, valid = self._to_device(train), self._to_device(valid) if valid is not None else None
        self._check_shapes(train)
        self.epochs = epochs
        train_step = build_train_step(
            self.model,
            self.objective,
            self.optimizer,
            penalty=self.penalty,
            clip=self.clip,
            constrain=self.constrain,
        )
        self._emit("on_fit_begin", {"epochs": epochs})
        try:
            while self.epoch < epochs and not self.stop_training:
                row = self._train_epoch(train, train_step)
                if valid is not None and len(valid):
                    row.update({f"val_{k}": v for k, v in self.evaluate(valid).items()})
                row["epoch_time_s"] = time.perf_counter() - row.pop("_t0")
                self.history.append(row)
                self._emit("on_epoch_end", row)
        finally:
            self._emit("on_fit_end", {"epochs": self.epoch})
        return self.history

    def _train_epoch(self, train: TensorData, train_step: Callable) -> dict[str, Any]:
        t0 = time.perf_counter()
        self.epoch += 1
        n, bs = len(train), self.batch_size
        steps = math.ceil(n / bs)
        self._emit("on_epoch_begin", {"epoch": self.epoch, "steps": steps})
        if self.schedule is not None and self.schedule_interval == "epoch":
            apply_lr_(self.optimizer, self.schedule, self.lr0, self.epoch - 1)
        per_step = self.schedule is not None and self.schedule_interval == "step"
        self.model.train()
        perm = torch.randperm(n, generator=self.generator, device=self.device)  # on-device shuffle
        loss_sum = torch.zeros((), device=self.device)
        labels_ = self.objective.labels_
        labels = torch.empty(n, dtype=self.objective.label_dtype, device=self.device) if labels_ else None
        extra: dict[str, Tensor] = {}
        for i, start in enumerate(range(0, n, bs), start=1):
            idx = perm[start : start + bs]
            if per_step:
                apply_lr_(self.optimizer, self.schedule, self.lr0, self.step)
            xb = train.x.index_select(0, idx)
            if self.augment is not None:
                xb = self.augment(xb)  # training batches only; evaluate() never sees it
            out = train_step(xb, train.y.index_select(0, idx))
            self.step += 1
            loss_sum.add_(out.loss, alpha=idx.shape[0])  # one kernel per step for the loss ...
            if labels is not None:
                labels_(out.logits, labels[start : start + bs])  # ... and one for the accuracy
            if out.penalty is not None:
                _accumulate(extra, "penalty", out.penalty * idx.shape[0])
            for k, v in out.stats.items():
                _accumulate(extra, k, v)
            if i % self.log_every_steps == 0 and i < steps:
                self._emit("on_steps", {"step": i, "steps": steps, "loss_sum": loss_sum, "seen": min(i * bs, n)})
        row: dict[str, Any] = {"epoch": self.epoch, "_t0": t0}
        sums = {"loss": loss_sum, **extra}
        if labels is not None:
            sums["acc"] = count_correct(labels, train.y.index_select(0, perm))
        values = torch.stack([v.double() for v in sums.values()]).tolist()  # the one host read of the epoch
        for k, v in zip(sums, values, strict=True):
            row[k] = v / (n if k in ("loss", "penalty", "acc") else steps)
        row["lr"] = self.optimizer.param_groups[0]["lr"]
        if isinstance(self.schedule, ScheduleWithMomentum):  # record momentum only where it varies
            row["momentum"] = momentum_of(self.optimizer)
        return row

    @torch.no_grad()
    def evaluate(self, data: TensorData, batch_size: int | None = None) -> dict[str, float]:
        """Mean loss (and accuracy for classification) over `data`, in evaluation mode."""
        data = self._to_device(data)
        was_training = self.model.training
        self.model.eval()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        bs = batch_size or self.eval_batch_size
        for start in range(0, len(data), bs):
            x, y = data.x[start : start + bs], data.y[start : start + bs]
            logits = self.model(x)
            loss_sum += self.objective.loss(logits, y) * y.shape[0]
            if self.objective.correct is not None:
                correct += self.objective.correct(logits, y)
        self.model.train(was_training)
        n = max(1, len(data))
        out = {"loss": float(loss_sum) / n}
        if self.objective.correct is not None:
            out["acc"] = float(correct) / n
        return out

    @torch.no_grad()
    def predict(
        self, x: Tensor, batch_size: int | None = None, *, mc_samples: int | None = None, seed: int = 0
    ) -> Tensor | MCPrediction:
        """Class probabilities (softmax/sigmoid) or regression outputs for `x`, on the CPU.

        With `mc_samples=N`, MC Dropout instead: N passes with only the dropout layers in training mode,
        summarised as an `MCPrediction` (mean probabilities, their std, predictive entropy), seeded by `seed`.
        """
        if mc_samples is not None:
            return self._predict_mc(x, batch_size or self.eval_batch_size, mc_samples, seed)
        was_training = self.model.training
        self.model.eval()
        bs = batch_size or self.eval_batch_size
        outs = [self.objective.output(self.model(x[s : s + bs].to(self.device))).cpu() for s in range(0, len(x), bs)]
        self.model.train(was_training)
        return torch.cat(outs) if outs else torch.empty(0)

    def _predict_mc(self, x: Tensor, bs: int, samples: int, seed: int) -> MCPrediction:
        parts = [
            mc_predict(self.model, x[s : s + bs].to(self.device), self.objective.output, samples, seed=seed + s,
                       entropy=self.objective.correct is not None)
            for s in range(0, len(x), bs)
        ]
        if not parts:
            raise ShapeError("predict: no samples given")
        mean, std = (torch.cat([getattr(p, k).cpu() for p in parts]) for k in ("mean", "std"))
        entropy = torch.cat([p.entropy.cpu() for p in parts]) if parts[0].entropy is not None else None
        return MCPrediction(mean, std, entropy, samples)

    def lr_find(self, train: TensorData, **kwargs: Any) -> LRFinderResult:
        """The LR range test on a throw-away continuation of this model; see `deepfit.train.lr_finder.find_lr`.

        Model, optimizer and shuffling state are restored afterwards, so `fit` is unaffected.
        """
        return find_lr(self, train, **kwargs)

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue exactly as if never interrupted."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict() if self.optimizer is not None else {},
            "epoch": self.epoch,
            "step": self.step,
            "stop_training": self.stop_training,
            "lr0": self.lr0,
            "rng": {"global": rng_state(), "generator": self.generator.get_state()},
            "history": self.history.rows,
            "callbacks": {type(c).__name__: c.state_dict() for c in self.callbacks},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"checkpoint does not fit this model or optimizer: {exc}") from None
        self.epoch, self.step = state["epoch"], state["step"]
        self.stop_training, self.lr0 = state["stop_training"], state["lr0"]
        set_rng_state(state["rng"]["global"])
        self.generator.set_state(state["rng"]["generator"])
        self.history = History(state["history"])
        for c in self.callbacks:
            if type(c).__name__ in state["callbacks"]:
                c.load_state_dict(state["callbacks"][type(c).__name__])

    def _emit(self, event: str, logs: dict[str, Any]) -> None:
        for c in self.callbacks:
            getattr(c, event)(self, logs)

    def _to_device(self, data: TensorData) -> TensorData:
        return data if data.x.device == self.device else data.to(self.device)

    def _check_shapes(self, data: TensorData) -> None:
        try:
            with torch.no_grad():
                was = self.model.training
                self.model.eval()
                self.model(data.x[:2])
                self.model.train(was)
        except RuntimeError as exc:
            raise ShapeError(f"the model does not accept inputs of shape {tuple(data.x.shape[1:])}: {exc}") from None


def _accumulate(sums: dict[str, Tensor], key: str, value: Tensor) -> None:
    if key in sums:
        sums[key].add_(value)
    else:
        sums[key] = value.clone()
