"""The Trainer: fit, evaluate and predict one model, or K members of one architecture at once.

A thin layer over the engine (train/engine.py): it runs the epochs, reads each epoch's figures once,
evaluates, keeps each member's history, early stopping and divergence, and calls the callbacks.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from deepfit.data import TensorData
from deepfit.errors import CheckpointError, ConfigError, ShapeError
from deepfit.nn.dropout import MCPrediction, mc_predict
from deepfit.train.batches import steps_per_epoch
from deepfit.train.callbacks.base import Callback, Logs, probes
from deepfit.train.callbacks.progress import progress_for
from deepfit.train.checkpoint import FORMAT
from deepfit.train.distributed import DataParallel
from deepfit.train.engine import Group, quiet_layout_warning
from deepfit.train.eval_batch import auto_eval_batch_size
from deepfit.train.history import History
from deepfit.train.members import Member, MemberView
from deepfit.train.objectives import Objective
from deepfit.train.pacing import StepPacer
from deepfit.train.placement import place, should_stream
from deepfit.train.seeding import rng_state, set_rng_state
from deepfit.train.update import UpdateRule

Tensor = torch.Tensor


class Trainer:
    """Trains `model` (or the members `models`) on `objective` with `rule`, Keras-style: `fit`, `evaluate`,
    `predict`.

    Args:
        model: one `nn.Module`, or a sequence of K modules of one architecture, trained at once as members
            of one group (each with its own seed, shuffling and hyperparameters).
        objective: the loss and how outputs become predictions (`objective_for`).
        rule: how the model learns (`UpdateRule`), one for every member or one per member; None for a
            Trainer that only evaluates and predicts.
        seed: the shuffling seed, one per member (an int for one model).
        engine: `auto`, `eager`, `compile` or `graph` (train/backends.py); `engine_used` says what ran.
        probe_every: steps between probe events (when a callback listens to them); there is one before the
            first step and one at the end of every epoch too. Each sees the first `probe_size` training samples
            (128: a probe costs about four training steps, so every 100 steps is about 4% of an epoch).
        drop_last: leave out the short last batch of each epoch instead of padding it.
        stream: train from host memory, copying each batch to the device (train/placement.py); None: only
            when the training data does not fit in half the accelerator's free memory.
        progress_every_s: seconds between `on_steps` events inside an epoch (when a callback listens to
            them): every N steps, N re-measured at each event (train/pacing.py), so no clock is read per step.
        initial_epoch, initial_step, history: where training starts, to continue another Trainer's run
            (Keras's `initial_epoch`); a single model only.
        augment: a function applied to every training batch (data/augment.py), never to evaluation.
        eval_batch_size: samples per evaluation and prediction batch; None: sized for the model and device on
            the first inputs evaluated (train/eval_batch.py).
        parallel: this process's rank in a data-parallel run (train/distributed.py); `batch_size` is then
            the global batch, of which this process trains on its shard. None trains on the whole batch.

    The members' parameters move into the engine's buffers (train/flat.py); each member's `nn.Module`
    keeps showing its current weights, so saving or evaluating a member needs nothing else.
    """

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        objective: Objective,
        rule: UpdateRule | Sequence[UpdateRule] | None = None,
        *,
        batch_size: int = 32,
        callbacks: Sequence[Callback] = (),
        device: torch.device | str = "cpu",
        seed: int | Sequence[int] = 0,
        eval_batch_size: int | None = None,
        progress_every_s: float = 0.25,
        augment: Any = None,
        engine: str = "auto",
        probe_every: int = 100,
        probe_size: int = 128,
        drop_last: bool = False,
        initial_epoch: int = 0,
        initial_step: int = 0,
        history: History | None = None,
        parallel: DataParallel | None = None,
        stream: bool | None = None,
    ) -> None:
        models = [model] if isinstance(model, nn.Module) else list(model)
        seeds = [seed] if isinstance(seed, int) else list(seed)
        if len(seeds) != len(models):
            raise ConfigError(f"{len(models)} members need {len(models)} seeds, got {len(seeds)}")
        self.trainable = rule is not None
        rules = [rule] * len(models) if isinstance(rule, UpdateRule) else None if rule is None else list(rule)
        self.device = torch.device(device)
        self.objective = objective
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.probe_every, self.probe_size = probe_every, probe_size
        self.pacer = StepPacer(progress_every_s)  # when on_steps comes: about every progress_every_s seconds
        self.engine, self.drop_last, self.stream = engine, drop_last, stream
        self.engine_used: str | None = None
        self.streamed = False
        self.group = Group(models, objective, rules, self.device, augment=augment, parallel=parallel)
        self.callbacks = sorted(callbacks, key=lambda c: c.order)
        self._reports = any(type(c).on_steps is not Callback.on_steps for c in self.callbacks)
        self.members = [
            Member(m, s, r, History(history.rows if history is not None and len(models) == 1 else None),
                   {i: (c if len(models) == 1 else copy.deepcopy(c)) for i, c in enumerate(self.callbacks)
                    if c.per_member})
            for m, s, r in zip(models, seeds, rules or [None] * len(models), strict=True)
        ]
        self.generators = [torch.Generator(device=self.device).manual_seed(s) for s in seeds]
        self.epoch, self.step = initial_epoch, initial_step
        self.epochs = 0
        self._stop = False

    # -- what callbacks see ------------------------------------------------------------------------------

    @property
    def model(self) -> nn.Module:
        """The model (a single-member Trainer)."""
        return self._single().model

    @property
    def models(self) -> list[nn.Module]:
        return [m.model for m in self.members]

    @property
    def history(self) -> History:
        """The per-epoch history (a single-member Trainer); `histories` has every member's."""
        return self._single().history

    @property
    def histories(self) -> list[History]:
        return [m.history for m in self.members]

    @property
    def stop_training(self) -> bool:
        """True once a callback stopped the fit, or no member is training any more."""
        return self._stop or not any(m.training for m in self.members)

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        self._stop = bool(value)

    def _single(self) -> Member:
        if len(self.members) != 1:
            raise TypeError(f"this Trainer has {len(self.members)} members: use trainer.members[k]")
        return self.members[0]

    # -- fit ---------------------------------------------------------------------------------------------

    def fit(
        self, train: TensorData, valid: TensorData | None = None, epochs: int = 1, *, verbose: int | str = "auto",
    ) -> History | list[History]:
        """Train until `epochs` epochs are complete (counting from a resumed or continued run).

        `verbose` is Keras's: 0 silent, 1 a progress bar (one line per epoch where the output is not a
        terminal or notebook, as Keras's bar prints then), 2 one line per epoch; `"auto"` is 1. A fit whose
        callbacks already hold a `ProgressBar` adds none. Returns the history (one model) or every member's.
        """
        if not self.trainable:
            raise TypeError("Trainer.fit needs an update rule; this Trainer was built for evaluation only")
        bar = progress_for(verbose, self.callbacks)
        if bar is None:
            return self._fit(train, valid, epochs)
        self.callbacks.append(bar)  # last, so the per-member callbacks' positions stay as they are
        self._reports = True
        try:
            return self._fit(train, valid, epochs)
        finally:
            self.callbacks.remove(bar)
            self._reports = any(type(c).on_steps is not Callback.on_steps for c in self.callbacks)

    def _fit(self, train: TensorData, valid: TensorData | None, epochs: int) -> History | list[History]:
        self.epochs = epochs
        per_epoch = steps_per_epoch(len(train), self.batch_size, drop_last=self.drop_last)
        train = self._start(train, steps_hint=per_epoch * max(0, epochs - self.epoch))
        valid = place(valid, self.device, self.streamed) if valid is not None and len(valid) else None
        probe = self._probe_batch(train) if any(probes(c) for c in self.callbacks) else None
        self._emit("on_fit_begin", {"epochs": epochs, "input_shape": tuple(train.x.shape[1:])})
        try:
            with quiet_layout_warning():
                if probe is not None and self.step == 0:
                    self._probe(probe)
                while self.epoch < epochs and not self.stop_training:
                    self._epoch(train, valid, probe)
        finally:
            self.engine_used = self.group.engine
            self._emit("on_fit_end", {"epochs": self.epoch}, everyone=True)
        return self.history if len(self.members) == 1 else self.histories

    def _epoch(self, train: TensorData, valid: TensorData | None, probe: tuple[Tensor, Tensor] | None) -> None:
        start = time.perf_counter()
        self.epoch += 1
        group, steps = self.group, self.group.order.steps
        self._emit("on_epoch_begin", {"epoch": self.epoch, "steps": steps, "compiling": group.compile_pending()})
        before = group.snapshot()  # the weights to come back to if a member diverges this epoch
        group.prepare_epoch(self.generators, self.step, steps)
        report = self.pacer.start() if self._reports else steps  # the step after which on_steps comes next
        for i in range(steps):
            group.step(i)
            self.step += 1
            if probe is not None and (self.step % self.probe_every == 0 or i + 1 == steps):
                self._probe(probe)  # every probe_every steps, and at the end of each epoch
            if i + 1 == report and i + 1 < steps:
                shards = 1 if group.parallel is None else group.parallel.world  # the sums are this rank's
                self._emit("on_steps", {"step": i + 1, "steps": steps, "loss_sum": group.sums[:, 0],
                                        "seen": (i + 1) * self.batch_size // shards})
                report = self.pacer.next(i + 1)
        rows = group.epoch_sums()
        scores = group.evaluate(valid, self.eval_batch(valid.x)) if valid is not None else [{}] * len(self.members)
        elapsed = time.perf_counter() - start
        training = [m for m in self.members if m.training]
        for k, m in enumerate(self.members):
            if not m.training:
                continue
            row = self._row(k, rows[k], scores[k], elapsed)
            if rows[k]["nonfinite"] > 0:
                group.restore_member_(k, before)
                m.diverge(self.epoch, m.history["loss"][-1] if len(m.history) else None)
            m.history.append(row)
        logs = training[0].history.rows[-1] if len(self.members) == 1 else {
            "epoch": self.epoch, "epoch_time_s": elapsed, "members": [m.history.rows[-1] for m in training]}
        self._emit("on_epoch_end", logs, member_logs=lambda m: m.history.rows[-1])
        group.set_active([m.training for m in self.members])

    def _start(self, train: TensorData, steps_hint: int = 0) -> TensorData:
        """Place `train` (on the device, or streamed from the host), check its shape and build the step;
        returns the placed data."""
        self.streamed = should_stream(train, self.device, self.stream)
        train = place(train, self.device, self.streamed)
        self.group.check_shapes(train)
        self.engine_used = self.group.start(train, self.batch_size, engine=self.engine, drop_last=self.drop_last,
                                            steps_hint=steps_hint, streamed=self.streamed)
        return train

    def step_losses(self, train: TensorData, steps: int) -> Iterator[float]:
        """Train `steps` optimizer steps, yielding each step's mean training loss (of the first member) as it
        ends. It reads the device once per step, so it is for diagnostics (the LR finder), not for training;
        no callback runs and no history is kept."""
        if not self.trainable:
            raise TypeError("Trainer.step_losses needs an update rule; this Trainer was built for evaluation only")
        train = self._start(train)
        group = self.group
        per_epoch = group.order.steps
        with quiet_layout_warning():
            for i in range(steps):
                j = i % per_epoch
                if j == 0:
                    group.prepare_epoch(self.generators, self.step, per_epoch)
                group.step(j)
                self.step += 1
                count = group.order.tail if j == per_epoch - 1 else self.batch_size
                loss = float(group.sums[0, 0]) / count  # the one read per step
                group.sums.zero_()
                yield loss

    def _row(self, k: int, sums: dict[str, float], scores: dict[str, float], elapsed: float) -> dict[str, Any]:
        row: dict[str, Any] = {"epoch": self.epoch, **{n: v for n, v in sums.items() if n != "nonfinite"}}
        row.update({f"val_{n}": v for n, v in scores.items()})
        update = self.group.update
        row["lr"] = update.lrs[k][-1]  # the rate of the epoch's last step
        if update.momenta is not None:
            row["momentum"] = update.momenta[k][-1]
        row["epoch_time_s"] = elapsed
        return row

    def _emit(self, event: str, logs: Logs, *, everyone: bool = False, member_logs: Any = None) -> None:
        """Call `event` on every callback in order: per-member ones once per member that trained this
        epoch (every member with `everyone`), each with its member's view and logs."""
        for i, c in enumerate(self.callbacks):
            if not c.per_member:
                getattr(c, event)(self, logs)
                continue
            for k, m in enumerate(self.members):
                if everyone or m.training or (event == "on_epoch_end" and self._trained_this_epoch(m)):
                    view = MemberView(self, m, k, self.group.update, self.objective)
                    getattr(m.callbacks[i], event)(view, member_logs(m) if member_logs else logs)

    def _trained_this_epoch(self, member: Member) -> bool:
        """A member that stopped or diverged in this very epoch still hears of its end."""
        return bool(member.history.rows) and member.history.rows[-1]["epoch"] == self.epoch

    # -- probes ------------------------------------------------------------------------------------------

    def _probe_batch(self, train: TensorData) -> tuple[Tensor, Tensor]:
        """A fixed batch for probes: the first `probe_size` training samples."""
        return train.x[: self.probe_size].to(self.device), train.y[: self.probe_size].to(self.device)

    def _probe(self, batch: tuple[Tensor, Tensor]) -> None:
        with self.probing():
            self._emit("on_probe", {"step": self.step, "epoch": self.epoch, "x": batch[0], "y": batch[1]})

    @contextlib.contextmanager
    def probing(self) -> Iterator[None]:
        """Leave batch-norm statistics, the RNG and every module's mode as they were after the block."""
        buffers = self.group.tensors.buffers.data.clone()
        counters = self.group.tensors.counters.data.clone()
        modes = [{m: m.training for m in model.modules()} for model in self.models]
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            try:
                yield
            finally:
                with torch.no_grad():
                    self.group.tensors.buffers.data.copy_(buffers)
                    self.group.tensors.counters.data.copy_(counters)
                for table in modes:
                    for module, mode in table.items():
                        module.training = mode

    # -- evaluation --------------------------------------------------------------------------------------

    def evaluate(self, data: TensorData, batch_size: int | None = None) -> dict[str, float] | list[dict[str, float]]:
        """Mean loss (and accuracy for classification) over `data` in evaluation mode: one dict, or one per member."""
        scores = self.group.evaluate(data, batch_size or self.eval_batch(data.x))
        return scores[0] if len(self.members) == 1 else scores

    def eval_batch(self, x: Tensor) -> int:
        """The evaluation batch size: the one given, else sized once for the members on inputs like `x`."""
        if self.eval_batch_size is None:
            self.eval_batch_size = auto_eval_batch_size(self.models[0], x[:2], self.device, members=len(self.members))
        return self.eval_batch_size

    @torch.no_grad()
    def predict(
        self, x: Tensor, batch_size: int | None = None, *, mc_samples: int | None = None, seed: int = 0
    ) -> Tensor | MCPrediction:
        """Class probabilities (softmax/sigmoid) or regression outputs for `x`, on the CPU; (K, n, ...) for
        K members.

        With `mc_samples=N`, MC Dropout instead (one model): N passes with only the dropout layers in
        training mode, summarised as an `MCPrediction` (mean probabilities, their std, predictive entropy).
        """
        bs = batch_size or self.eval_batch(x)
        if mc_samples is not None:
            return self._predict_mc(x, bs, mc_samples, seed)
        k = len(self.members)
        parts = []
        for s in range(0, len(x), bs):
            out = self.group.outputs(x[s : s + bs].to(self.device))  # (K, batch, outputs)
            probs = self.objective.output(out.flatten(0, 1))
            parts.append(probs.view(k, -1, *probs.shape[1:]).cpu())
        if not parts:
            return torch.empty(0)
        out = torch.cat(parts, dim=1)
        return out[0] if k == 1 else out

    def _predict_mc(self, x: Tensor, bs: int, samples: int, seed: int) -> MCPrediction:
        model = self.model
        parts = [
            mc_predict(model, x[s : s + bs].to(self.device), self.objective.output, samples, seed=seed + s,
                       entropy=self.objective.hits is not None)
            for s in range(0, len(x), bs)
        ]
        if not parts:
            raise ShapeError("predict: no samples given")
        mean, std = (torch.cat([getattr(p, k).cpu() for p in parts]) for k in ("mean", "std"))
        entropy = torch.cat([p.entropy.cpu() for p in parts]) if parts[0].entropy is not None else None
        return MCPrediction(mean, std, entropy, samples)

    # -- checkpoints -------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue exactly as if never interrupted."""
        return {
            "format": FORMAT,
            "group": self.group.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "stop_training": self._stop,
            "rng": {"global": rng_state(), "generators": [g.get_state() for g in self.generators]},
            "members": [m.state_dict() for m in self.members],
            "callbacks": {type(c).__name__: c.state_dict() for c in self.callbacks if not c.per_member},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["members"]) != len(self.members):
            raise CheckpointError(f"the checkpoint holds {len(state['members'])} members, this Trainer "
                                  f"{len(self.members)}")
        try:
            self.group.load_state_dict(state["group"])
        except (ConfigError, KeyError, RuntimeError) as exc:
            raise CheckpointError(f"checkpoint does not fit this model or optimizer: {exc}") from None
        self.epoch, self.step, self._stop = state["epoch"], state["step"], state["stop_training"]
        set_rng_state(state["rng"]["global"])
        for g, s in zip(self.generators, state["rng"]["generators"], strict=True):
            g.set_state(s)
        for m, s in zip(self.members, state["members"], strict=True):
            m.load_state_dict(s)
        for c in self.callbacks:
            if not c.per_member and type(c).__name__ in state["callbacks"]:
                c.load_state_dict(state["callbacks"][type(c).__name__])
        self.group.set_active([m.training for m in self.members])
