"""The engine: K members of one architecture trained at once on one device (K = 1 for a single model).

A `Group` owns the members' flat tensors, their forward pass (stacked for dense nets, the model's own
`forward` otherwise) and their update rule; `start` builds the training step once for a dataset, on one
backend, and `step` runs it. A step reads its batch and its coefficient columns through a device-side
counter and adds its statistics to device-side sums: nothing is read back to the host until `epoch_sums`.
Under data parallelism (train/distributed.py) the step reads this rank's shard of the batch and sums the
gradient over ranks, and `epoch_sums` sums the statistics over ranks.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from deepfit.data import TensorData
from deepfit.errors import ConfigError, ShapeError
from deepfit.optim.kernels import named_linears
from deepfit.train.backends import compile_pending, make_step, resolve_engine
from deepfit.train.batches import EpochOrder
from deepfit.train.distributed import DataParallel
from deepfit.train.flat import flatten_members
from deepfit.train.objectives import Objective
from deepfit.train.stacked import NotStackable, Pass, StackedNet
from deepfit.train.update import Update, UpdateRule

Tensor = torch.Tensor
Augment = Any  # (batch, *sample_shape) -> same; data/augment.py
TensorsByName = Callable[[str], Tensor]  # a (K, *shape) parameter or buffer of every member by name

# autograd warns once that a gradient's layout differs from its parameter's: each member's parameters are
# strided views of a (K, N) row, and their gradients are gathered into one (K, N) tensor anyway.
_LAYOUT_WARNING = "grad and param do not obey the gradient layout contract"


class Group:
    """K members trained at once: flat tensors, forward pass, update rule, and (after `start`) the step.

    The members' parameters move into the group's buffers on `device` (train/flat.py). Members must share
    one architecture; dense nets built by `deepfit.nn.build_model` (and any stack of the layers
    `train/stacked.py` handles) train as one stacked model, anything else through its own `forward`, as a
    single member. With `parallel`, this process trains on its rank's shard of every global batch.

    Raises:
        ConfigError: the members differ in architecture, or a model that cannot be stacked has company.
    """

    def __init__(
        self, models: Sequence[nn.Module], objective: Objective, rules: Sequence[UpdateRule] | None,
        device: torch.device, *, augment: Augment | None = None, parallel: DataParallel | None = None,
    ) -> None:
        if rules is not None and len(rules) != len(models):
            raise ConfigError(f"{len(models)} members need {len(models)} update rules, got {len(rules)}")
        self.k, self.models, self.objective, self.device = len(models), list(models), objective, device
        self.augment, self.parallel = augment, parallel
        self.streamed = False  # see `start`
        self.tensors = flatten_members(models, device, dict(rules[0].lr_factors) if rules else None)
        t = self.tensors
        self._views = {s.name: v for f in (t.frozen, t.buffers, t.counters) for s, v in zip(f.segments, f.split(f.data),
                                                                                           strict=True)}
        try:
            for s, v in zip(t.trainable.segments, t.trainable.split(t.trainable.data), strict=True):
                self._views[s.name] = v.requires_grad_()  # the leaves the stacked forward differentiates
            self.net: StackedNet | None = StackedNet(models, self._views.__getitem__, device)
            self.leaves = [self._views[s.name] for s in t.trainable.segments]
        except NotStackable as exc:
            if self.k > 1:
                raise ConfigError(f"these models cannot be trained as members of one group: {exc}") from None
            self.net = None
            self._own = dict(models[0].named_parameters())
            self.leaves = [self._own[s.name] for s in t.trainable.segments]
        self.layers = [n for n, _ in named_linears(models[0])]
        # None: a group that only evaluates and predicts
        self.update = Update(rules, t, self.layers, self._weight, device) if rules is not None else None
        self.active = torch.ones(self.k, 1, dtype=torch.bool, device=device)  # members still training
        self.all_active = True
        self.engine = "eager"
        self._started: tuple | None = None  # what `start` last built the step for

    @property
    def stacked(self) -> bool:
        """True when the members train as one stacked model (dense nets), False for a model's own forward."""
        return self.net is not None

    def _weight(self, name: str) -> Tensor:
        """(K, *shape) view of parameter `name` as the forward pass uses it (for the penalty)."""
        if self.net is None:
            return self._own[name].unsqueeze(0)
        return self._views[name]

    def active_mask(self) -> Tensor | None:
        """The members still training (K, 1), or None while all are (a captured graph always gets the mask)."""
        return None if self.all_active and self.engine != "graph" else self.active

    # -- training ---------------------------------------------------------------------------------------

    def start(self, data: TensorData, batch_size: int, *, engine: str = "auto", drop_last: bool = False,
              steps_hint: int = 0, streamed: bool = False) -> str:
        """Build the training step for `data` once, on backend `engine`; returns the backend.

        `data` is on the device, or (`streamed`) in host memory, each batch gathered there and copied to the
        device, eagerly. `steps_hint` is the number of steps the fit will run, which `engine="auto"` weighs
        against the cost of compiling.
        """
        key = (data.x, data.y, batch_size, drop_last, engine, streamed)
        same = self._started is not None and all(
            a is b if isinstance(a, torch.Tensor) else a == b for a, b in zip(key, self._started, strict=True)
        )
        if same:
            return self.engine  # the same data and settings as the last fit: keep its step (a captured graph)
        self._started = key
        self.x, self.y, self.streamed = data.x, data.y, streamed
        self.order = EpochOrder(len(data), batch_size, self.k, self.device, drop_last=drop_last,
                                parallel=self.parallel)
        self.pos = torch.zeros(1, dtype=torch.long, device=self.device)
        width = 2 + (self.objective.hits is not None) + self.update.has_penalty + 2 * (self.update.clip is not None)
        self.sums = torch.zeros(self.k, width, device=self.device)  # per member: see `epoch_sums`
        # a model with its own forward runs the short last batch at its own size (batch norm cannot be
        # weighted from outside); the stacked forward pads it
        self.padded = self.net is not None or self.order.tail == batch_size
        self.engine = resolve_engine(engine, self, steps_hint)
        self._step = make_step(self.engine, self)
        return self.engine

    def prepare_epoch(self, generators: Sequence[torch.Generator], first_step: int, steps_per_epoch: int) -> None:
        """Shuffle every member's order and compute this epoch's coefficient tables (outside the step)."""
        self.order.shuffle_(generators)
        self.update.prepare(first_step, self.order.steps, steps_per_epoch)
        self.pos.zero_()
        self.sums.zero_()

    def compile_pending(self) -> tuple[float, bool] | None:
        """(expected seconds, compiled before) while the compiled step has yet to compile; else None."""
        return compile_pending(self._step)

    def step(self, i: int) -> None:
        """Run step `i` of the epoch (0-based)."""
        if not self.padded and i == self.order.steps - 1:
            self._short_step()
        else:
            self._step()

    def train_step(self) -> None:
        """One step, eagerly: batch, forward and loss, gradients, update, sums."""
        idx, w = self.order.batch(self.pos)
        total, stats = self.forward_loss(idx, w)
        grads = torch.autograd.grad(total, self.leaves)
        self.apply_(grads, stats, self.active_mask())

    def _short_step(self) -> None:
        """The last batch at its own size (models with their own forward only)."""
        idx, w = self.order.tail_batch()
        total, stats = self.forward_loss(idx, w)
        grads = torch.autograd.grad(total, self.leaves)
        self.apply_(grads, stats, self.active_mask())

    def forward_loss(self, idx: Tensor, w: Tensor, tensors: TensorsByName | None = None) -> tuple[Tensor, Tensor]:
        """The differentiable total of the members' losses and their per-member statistics (K, m).

        Statistics: the sum of the batch's per-sample losses, its hits (classification), its penalty
        weighted by the batch size, and whether the loss is finite. `tensors` gives the stacked net its
        parameters and buffers by name (the functional step's views); None reads the group's own.
        Under data parallelism `idx` and `w` are this rank's shard: its loss is its share of the global
        batch's weighted sum over the global batch's weight, and its penalty 1/world of the penalty, so
        that the gradients summed over ranks are those of the global batch.
        """
        k, b = idx.shape
        flat = idx.reshape(-1)
        if self.streamed:  # gathered in host memory, then copied: the data does not fit on the device
            flat = flat.cpu()
            x = self.x.index_select(0, flat).to(self.device, non_blocking=True)
            y = self.y.index_select(0, flat).to(self.device, non_blocking=True)
        else:
            x = self.x.index_select(0, flat)  # (K * batch, *sample_shape)
            y = self.y.index_select(0, flat)
        if self.augment is not None:
            x = self.augment(x)  # training batches only, on the device
        out = self._train_forward(x.view(k, b, *x.shape[1:]), w, tensors)  # (K, batch, outputs)
        per = self.objective.loss(out.flatten(0, 1), y).view(k, b)  # (K, batch)
        n = w.sum()
        loss_sum = (per * w).sum(1)  # (K,)
        loss = loss_sum / (n if self.parallel is None else self.order.total(self.pos))
        stats = [loss_sum.detach()]
        if self.objective.hits is not None:
            stats.append((self.objective.hits(out.detach().flatten(0, 1), y).view(k, b) * w).sum(1))
        penalty = self.update.penalty(tensors)
        if penalty is not None:
            loss = loss + (penalty if self.parallel is None else penalty / self.parallel.world)
            stats.append(penalty.detach() * n)
        stats.append((~torch.isfinite(loss_sum.detach())).to(loss_sum.dtype))
        return loss.sum(), torch.stack(stats, dim=1)

    def _train_forward(self, x: Tensor, w: Tensor, tensors: TensorsByName | None = None) -> Tensor:
        if self.net is not None:
            return self.net(x, Pass(True, w, self.active_mask(), tensors))
        return self.models[0](x[0]).unsqueeze(0)

    @property
    def functional(self) -> bool:
        """True when `functional_step` can run: a stacked net without augmentation (whose random source, a
        `torch.Generator`, a compiled graph cannot take)."""
        return self.net is not None and self.augment is None

    def functional_step(self, active: Tensor | None) -> None:
        """One step as a pure function of the flat tensors: the gradient by `torch.func.grad` instead of the
        autograd engine, so that `torch.compile` traces batch, forward, backward and update as one graph.

        The same arithmetic as `train_step`; batch-norm statistics, which the forward pass updates, are
        views of the flat buffers passed in (a transformed function may only change its inputs).
        """
        idx, w = self.order.batch(self.pos)
        t = self.tensors

        def loss(trainable: Tensor, buffers: Tensor, counters: Tensor) -> tuple[Tensor, Tensor]:
            views = dict(self._views)  # frozen parameters as they are
            for flat, source in ((t.trainable, trainable), (t.buffers, buffers), (t.counters, counters)):
                views.update(zip((s.name for s in flat.segments), flat.split(source), strict=True))
            return self.forward_loss(idx, w, views.__getitem__)

        grads, stats = torch.func.grad(loss, has_aux=True)(t.trainable.data, t.buffers.data, t.counters.data)
        self._apply_flat(grads, stats, active)

    def apply_(self, grads: Sequence[Tensor], stats: Tensor, active: Tensor | None) -> None:
        """Update every member from its gradients and add this step's statistics to the epoch's sums."""
        self._apply_flat(torch.cat([gr.reshape(self.k, -1) for gr in grads], dim=1), stats, active)

    def _apply_flat(self, grads: Tensor, stats: Tensor, active: Tensor | None) -> None:
        """`apply_` with the gradients as one (K, N) tensor, in the order of the trainable buffer."""
        with torch.no_grad():
            if self.parallel is not None:
                self.parallel.reduce_gradient_(grads)  # what DDP's reducer does, as one all-reduce
            clip = self.update.apply_(grads, self.pos, active)
            self.sums.add_(stats if clip is None else torch.cat([stats, clip], dim=1))
            self.pos.add_(1)

    def epoch_sums(self) -> list[dict[str, float]]:
        """The epoch's figures per member, read back in one transfer: mean loss, accuracy, penalty, gradient
        norm and clipped fraction (means over steps), and `nonfinite` (steps with a non-finite loss).

        Under data parallelism the sums are summed over ranks first (the clipping columns, figures of the
        reduced gradient, are already equal), and rank 0's batch-norm statistics go to every rank, so every
        rank evaluates, stops and checkpoints alike.
        """
        if self.parallel is not None:
            self.parallel.reduce_sums_(self.sums, self.sums.shape[1] - 2 * (self.update.clip is not None))
            self.parallel.broadcast_(self.tensors.buffers.data)
        values = self.sums.double().tolist()  # the one host read of the epoch
        steps, n = self.order.steps, self.order.seen
        rows = []
        for v in values:
            row, i = {"loss": v[0] / n}, 1
            if self.objective.hits is not None:
                row["acc"], i = v[i] / n, i + 1
            if self.update.has_penalty:
                row["penalty"], i = v[i] / n, i + 1
            row["nonfinite"], i = v[i], i + 1
            if self.update.clip is not None:
                row["grad_norm"], row["clip_fraction"] = v[i] / steps, v[i + 1] / steps
            rows.append(row)
        return rows

    def set_active(self, active: Sequence[bool]) -> None:
        """Which members go on training; the others keep their weights and batch-norm statistics."""
        self.active.copy_(torch.tensor(list(active), device=self.device).view(-1, 1))
        self.all_active = all(active)

    # -- evaluation -------------------------------------------------------------------------------------

    @torch.no_grad()
    def outputs(self, x: Tensor) -> Tensor:
        """Raw outputs (K, batch, outputs) in evaluation mode for inputs (batch, ...) on the device."""
        if self.net is not None:
            return self.net(x, Pass(False), shared=True)
        model = self.models[0]
        was = model.training
        model.eval()
        try:
            return model(x).unsqueeze(0)
        finally:
            model.train(was)

    @torch.no_grad()
    def evaluate(self, data: TensorData, batch_size: int) -> list[dict[str, float]]:
        """Mean loss (and accuracy) of every member over `data` in evaluation mode, read back once."""
        loss = torch.zeros(self.k, device=self.device, dtype=torch.float64)
        hits = torch.zeros_like(loss)
        for start in range(0, len(data), batch_size):
            x = data.x[start : start + batch_size].to(self.device)
            y = data.y[start : start + batch_size].to(self.device)
            out = self.outputs(x)  # (K, batch, outputs)
            flat_out, flat_y = out.flatten(0, 1), y.repeat(self.k, *[1] * (y.dim() - 1))  # member-major
            loss += self.objective.loss(flat_out, flat_y).view(self.k, -1).sum(1).double()
            if self.objective.hits is not None:
                hits += self.objective.hits(flat_out, flat_y).view(self.k, -1).sum(1).double()
        n = max(1, len(data))
        values = torch.stack([loss, hits]).tolist()
        return [
            {"loss": values[0][k] / n, **({"acc": values[1][k] / n} if self.objective.hits is not None else {})}
            for k in range(self.k)
        ]

    def check_shapes(self, data: TensorData) -> None:
        """A clear error when the members do not accept the samples' shape (before any training)."""
        model = self.models[0]
        was = model.training
        try:
            with torch.no_grad():
                model.eval()
                model(data.x[:2].to(self.device))
        except RuntimeError as exc:
            raise ShapeError(f"the model does not accept inputs of shape {tuple(data.x.shape[1:])}: {exc}") from None
        finally:
            model.train(was)

    # -- snapshots and checkpoints ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Tensor]:
        """A copy of every member's weights and statistics (to come back to if a member diverges)."""
        t = self.tensors
        return {"trainable": t.trainable.data.clone(), "buffers": t.buffers.data.clone(),
                "counters": t.counters.data.clone()}

    def restore_member_(self, k: int, snapshot: dict[str, Tensor]) -> None:
        """Put member `k`'s weights and statistics back as they were in `snapshot`."""
        t = self.tensors
        with torch.no_grad():
            for name, flat in (("trainable", t.trainable), ("buffers", t.buffers), ("counters", t.counters)):
                flat.data[k].copy_(snapshot[name][k])

    def state_dict(self) -> dict[str, Any]:
        t = self.tensors
        return {"tensors": {n: getattr(t, n).data.detach().clone() for n in ("trainable", "frozen", "buffers",
                                                                             "counters")},
                "update": self.update.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        t = self.tensors
        with torch.no_grad():
            for name, value in state["tensors"].items():
                target = getattr(t, name).data
                if tuple(value.shape) != tuple(target.shape):
                    raise ConfigError(
                        f"the checkpoint's {name} tensors have shape {tuple(value.shape)}, this model's "
                        f"{tuple(target.shape)}: the architecture or the number of members differs"
                    )
                target.copy_(value)
        self.update.load_state_dict(state["update"])


@contextlib.contextmanager
def quiet_layout_warning() -> Iterator[None]:
    """Silence autograd's gradient-layout warning (see `_LAYOUT_WARNING`) for the duration of a fit."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_LAYOUT_WARNING)
        yield
