"""The update rule of a group of members, built once: optimizer, learning-rate and momentum tables, penalty,
clipping and constraints, each member with its own numbers.

`UpdateRule` is what a caller gives for one member, in plain values; `Update` is the built object for K of
them. Everything per step is a tensor expression over the (K, N) parameter rows: the schedules, pure
functions of the step, are evaluated once per epoch into (K, steps) tables on the device, and a step reads
its column through a device-side counter, so no Python number changes from one step to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from deepfit.errors import ConfigError
from deepfit.optim import (
    CLIPPERS,
    OPTIMIZERS,
    Schedule,
    ScheduleWithMomentum,
    check_max_norm,
    check_threshold,
    layer_penalties,
)
from deepfit.optim.batched import (
    Carry,
    State,
    apply_update_,
    coefficient_tables,
    resolve_hyperparameters,
    stack_hyperparameters,
)
from deepfit.optim.constraints import max_norm_, max_norm_layers
from deepfit.optim.penalties import stacked_penalty
from deepfit.train.flat import MemberTensors

Tensor = torch.Tensor


@dataclass(frozen=True)
class UpdateRule:
    """How one member learns, in plain values.

    Args:
        optimizer: a registry name (`deepfit list optimizers`).
        params: the optimizer's hyperparameters, torch names (`lr`, `betas`, `momentum`, `weight_decay`, ...);
            what is left out takes the registry's default, then torch's.
        schedule: the learning rate as a function of the step (or of the epoch, `schedule_interval="epoch"`);
            None keeps the optimizer's lr. A `ScheduleWithMomentum` sets the momentum (beta1) too.
        penalty, penalty_layers: l1/l2 on the dense kernels, as `optim.layer_penalties` reads them.
        clip, clip_threshold: gradient clipping by name (`deepfit list clipping`); None clips nothing and
            records no gradient norm.
        max_norm: `{"max_value": r, "axis": 1, "include_output": False}`; None for no max-norm.
        lr_factors: a learning-rate factor per parameter-name prefix (reused layers learn more slowly).
        masks: keep-masks per dense layer name, re-applied after every step (pruned weights stay zero).

    Members of one group may differ in every number here; names, flags and structure must agree.
    """

    optimizer: str
    params: Mapping[str, Any] = field(default_factory=dict)
    schedule: Schedule | None = None
    schedule_interval: str = "step"
    penalty: Any = None
    penalty_layers: Mapping[str, Any] = field(default_factory=dict)
    clip: str | None = None
    clip_threshold: float | None = None
    max_norm: Mapping[str, Any] | None = None
    lr_factors: Mapping[str, float] = field(default_factory=dict)
    masks: Mapping[str, Tensor] = field(default_factory=dict)


def _agreed(rules: Sequence[UpdateRule], what: str, value: Callable[[UpdateRule], Any]) -> Any:
    values = [value(r) for r in rules]
    if any(v != values[0] for v in values[1:]):
        raise ConfigError(f"members differ in {what} ({values[0]!r} vs others); train them in separate groups")
    return values[0]


class Update:
    """The built update rule of K members (see the module docstring).

    Args:
        rules: one `UpdateRule` per member.
        tensors: the members' flat buffers (`train.flat.flatten_members`).
        layers: the dense layer names bottom first (`optim.kernels.named_linears`), whose kernels the
            penalty, max-norm and masks act on.
        weight: the (K, *shape) tensor of a member parameter by name, as the forward pass uses it (so the
            penalty is differentiated with the rest of the loss).
    """

    def __init__(
        self,
        rules: Sequence[UpdateRule],
        tensors: MemberTensors,
        layers: Sequence[str],
        weight: Callable[[str], Tensor],
        device: torch.device,
    ) -> None:
        self.k, self.tensors, self.device = len(rules), tensors, device
        self.optimizer = _agreed(rules, "optimizer", lambda r: OPTIMIZERS.canonical(r.optimizer))
        self.rule, self.hyper, self.flags = stack_hyperparameters(self.optimizer, [r.params for r in rules], device)
        resolved = [resolve_hyperparameters(self.optimizer, r.params) for r in rules]  # host copies of the numbers
        self.values = {name: [float(m.get(name, 0.0)) for m in resolved] for name in self.hyper}
        self.base_lr = self.values["lr"]
        self.lr_scale = [1.0] * self.k  # set by performance scheduling (ReduceLROnPlateau), per member
        self.schedules = [r.schedule for r in rules]
        self.intervals = [r.schedule_interval for r in rules]
        self.cycles_momentum = any(isinstance(s, ScheduleWithMomentum) for s in self.schedules)
        if self.cycles_momentum and self.rule.momentum is None:
            raise ConfigError(
                f"the schedule cycles momentum, but optimizer {self.optimizer!r} has neither momentum nor betas; "
                "set schedule.cycle_momentum = false"
            )
        _agreed(rules, "lr_factors", lambda r: dict(r.lr_factors))
        self.state: State = self.rule.init_state(tensors.trainable.data, self.hyper, self.flags)
        self.carries: list[Carry] = [{} for _ in tensors.groups]
        self._penalty = self._build_penalty(rules, layers, weight)
        self._build_clip(rules)
        self._build_constraints(rules, layers)
        self._coef: list[Tensor] = []  # per lr group: (K, C, steps) coefficient tables of the current epoch
        self._keys: list[list[str]] = []
        self.lrs: list[list[float]] = []  # this epoch's base lr per member and step (for the history)
        self.momenta: list[list[float]] | None = None

    # -- building ---------------------------------------------------------------------------------------

    def _build_penalty(self, rules: Sequence[UpdateRule], layers: Sequence[str], weight: Callable[[str], Tensor]):
        """The differentiable (K,) penalty of the members' kernels (and biases where asked), or None."""
        per_member = [layer_penalties(layers, r.penalty, r.penalty_layers) for r in rules]
        names = self._names()
        terms: list[tuple[str, str]] = []  # (parameter name, its layer)
        for layer in layers:
            specs = [m[layer] for m in per_member]
            if all(s is None for s in specs):
                continue
            if len({s is not None and s[1] for s in specs}) > 1:
                raise ConfigError(f"members differ in whether the penalty of {layer!r} covers its bias; "
                                  "train them in separate groups")
            terms.append((f"{layer}.weight", layer))
            if any(s is not None and s[1] for s in specs) and f"{layer}.bias" in names:
                terms.append((f"{layer}.bias", layer))
        if not terms:
            return None
        factors = {
            which: [[getattr(m[layer][0], which) if m[layer] is not None else 0.0 for _, layer in terms]
                    for m in per_member]
            for which in ("l1", "l2")
        }
        l1, l2 = (torch.tensor(factors[w], device=self.device) if any(map(any, factors[w])) else None
                  for w in ("l1", "l2"))  # (K, terms)
        return lambda tensors=None: stacked_penalty([(tensors or weight)(name) for name, _ in terms], l1, l2)

    def _names(self) -> set[str]:
        t = self.tensors
        return {s.name for s in t.trainable.segments} | {s.name for s in t.frozen.segments}

    def _build_clip(self, rules: Sequence[UpdateRule]) -> None:
        name = _agreed(rules, "clip", lambda r: None if r.clip is None else CLIPPERS.canonical(r.clip))
        self.clip = None if name is None else CLIPPERS.get(name).constructor
        thresholds = [check_threshold(name, r.clip_threshold) for r in rules] if name is not None else [1.0] * self.k
        self.clip_threshold = torch.tensor(thresholds, device=self.device).view(-1, 1)  # (K, 1)
        self.segments = [(s.start, s.stop) for s in self.tensors.trainable.segments]

    def _build_constraints(self, rules: Sequence[UpdateRule], layers: Sequence[str]) -> None:
        """Max-norm on the trainable kernels it covers, and pruning masks; frozen kernels stay as they are."""
        trainable = {s.name for s in self.tensors.trainable.segments}
        self.max_norm: tuple[list[Tensor], Tensor, int] | None = None
        if _agreed(rules, "whether max-norm is on", lambda r: r.max_norm is not None):
            options = [dict(r.max_norm) for r in rules]
            checked = [check_max_norm(o.get("max_value", 2.0), o.get("axis", 1)) for o in options]
            axis = _agreed(rules, "max_norm.axis", lambda r: check_max_norm(2.0, dict(r.max_norm).get("axis", 1))[1])
            include = _agreed(rules, "max_norm.include_output", lambda r: bool(dict(r.max_norm).get("include_output")))
            names = [f"{n}.weight" for n in max_norm_layers(layers, include_output=include)]
            kernels = [self.tensors.trainable.stacked(n) for n in names if n in trainable]
            radius = torch.tensor([c[0] for c in checked], device=self.device).view(-1, 1, 1)  # (K, 1, 1)
            self.max_norm = (kernels, radius, axis + 1)  # the member axis comes first
        masked = _agreed(rules, "which layers are pruned", lambda r: sorted(r.masks))
        self.masks: list[tuple[Tensor, Tensor]] = []
        for name in masked:
            kernel = self.tensors.trainable.stacked(f"{name}.weight")
            stacked = torch.stack([r.masks[name].to(self.device, kernel.dtype) for r in rules])  # (K, out, in)
            self.masks.append((kernel, stacked))

    # -- per epoch --------------------------------------------------------------------------------------

    def prepare(self, first_step: int, steps: int, steps_per_epoch: int) -> None:
        """Compute the tables of optimizer steps `first_step`, ..., `first_step + steps - 1` (0-based);
        `steps_per_epoch` turns steps into epochs for schedules with `schedule_interval="epoch"`."""
        per = steps_per_epoch
        self.lrs = [self._lrs(k, first_step, steps, per) for k in range(self.k)]  # (K, S) on the host
        lr = torch.tensor(self.lrs, dtype=torch.float64, device=self.device)
        momentum = None
        if self.cycles_momentum:
            self.momenta = [self._momenta(k, first_step, steps, per) for k in range(self.k)]
            momentum = torch.tensor(self.momenta, dtype=torch.float64, device=self.device)
        fresh = len(self._coef) != len(self.tensors.groups) or self._coef[0].shape[2] != steps
        for g, (_, _, factor) in enumerate(self.tensors.groups):
            tables = coefficient_tables(self.rule, self.hyper, self.flags, lr * factor, first_step + 1,
                                        self.carries[g], momentum)
            if fresh:
                if g == 0:
                    self._coef, self._keys = [], []
                self._keys.append(list(tables))
                self._coef.append(torch.stack(list(tables.values()), dim=1))  # (K, C, S), kept for the fit
            else:
                self._coef[g].copy_(torch.stack([tables[key] for key in self._keys[g]], dim=1))

    def _lrs(self, k: int, first_step: int, steps: int, per_epoch: int) -> list[float]:
        schedule, scale = self.schedules[k], self.lr_scale[k]
        if schedule is None:
            return [self.base_lr[k] * scale] * steps
        return [schedule(t) * scale for t in self._positions(k, first_step, steps, per_epoch)]

    def _momenta(self, k: int, first_step: int, steps: int, per_epoch: int) -> list[float]:
        schedule = self.schedules[k]
        if not isinstance(schedule, ScheduleWithMomentum):
            return [self.values[self.rule.momentum][k]] * steps
        return [schedule.momentum(t) for t in self._positions(k, first_step, steps, per_epoch)]

    def _positions(self, k: int, first_step: int, steps: int, per_epoch: int) -> list[int]:
        """Where member k's schedule stands at each step: the step, or the epoch (0-based) it lies in."""
        span = range(first_step, first_step + steps)
        return [t // per_epoch for t in span] if self.intervals[k] == "epoch" else list(span)

    def lr(self, k: int) -> float:
        """Member k's base learning rate now (performance scheduling included, per-layer factors not)."""
        return self.base_lr[k] * self.lr_scale[k]

    def set_lr(self, k: int, lr: float) -> None:
        """Train member k at `lr` from the next epoch's tables on (performance scheduling)."""
        self.lr_scale[k] = lr / self.base_lr[k]

    # -- per step ---------------------------------------------------------------------------------------

    @property
    def has_penalty(self) -> bool:
        return self._penalty is not None

    def penalty(self, tensors: Callable[[str], Tensor] | None = None) -> Tensor | None:
        """Each member's weight penalty (K,), differentiable, or None when no member has one; `tensors` gives
        the (K, *shape) weights by name where a functional step differentiates its own views of them."""
        return None if self._penalty is None else self._penalty(tensors)

    def apply_(self, grads: Tensor, pos: Tensor, active: Tensor | None) -> Tensor | None:
        """Clip `grads` (K, N), update every lr group with its column `pos` of the tables, apply the
        constraints; members where `active` is False keep their weights. Returns (K, 2) clipping statistics
        (gradient norm, clipped) or None without clipping."""
        stats = None
        if self.clip is not None:
            grads, norm, clipped = self.clip(grads, self.clip_threshold, self.segments)
            stats = torch.stack([norm, clipped], dim=1)
        p = self.tensors.trainable.data
        for g, (a, b, _) in enumerate(self.tensors.groups):
            column = self._coef[g].index_select(2, pos).squeeze(2)  # (K, C)
            c = {key: column[:, i : i + 1] for i, key in enumerate(self._keys[g])}  # (K, 1) each
            state = {key: v[:, a:b] for key, v in self.state.items()}
            apply_update_(p[:, a:b], self.rule.update(p[:, a:b], grads[:, a:b], state, c, self.flags), active)
        if self.max_norm is not None and self.max_norm[0]:
            kernels, radius, axis = self.max_norm
            max_norm_(kernels, radius, axis)  # after the step, as Keras applies constraints
        if self.masks:
            with torch.no_grad():
                torch._foreach_mul_([k for k, _ in self.masks], [m for _, m in self.masks])
        return stats

    # -- checkpoints ------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer, "state": self.state, "carries": self.carries, "lr_scale": self.lr_scale}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state["optimizer"] != self.optimizer:
            raise ConfigError(f"the checkpoint's optimizer is {state['optimizer']!r}, this run's {self.optimizer!r}")
        for key, value in state["state"].items():
            self.state[key].copy_(value)
        self.carries = [{k: v.to(self.device) for k, v in c.items()} for c in state["carries"]]
        self.lr_scale = list(state["lr_scale"])
