"""Update rules for K models at once: the members' parameters are the rows of one (K, N) tensor, and every
hyperparameter is a (K, 1) tensor, so each member can have its own lr, betas, momentum or weight decay.

torch.optim cannot give slices of one tensor different hyperparameters, so each rule here follows its
torch.optim algorithm (or FTRL's, optim/ftrl.py) line by line; tests/optim/test_batched.py checks every rule
member by member against the single-model optimizer. A rule has two halves: `coefficients`, the per-step
scalars (bias corrections, NAdam's momentum products, lr-dependent factors), which are pure functions of the
step and so are computed for many steps at once as (K, steps) tables; and `update`, the element-wise part,
with no Python branch on a tensor value, so it can be compiled or captured in a CUDA graph with the rest of
the step. Hyperparameter values, defaults included, come from the torch optimizer itself
(`resolve_hyperparameters`), so each default lives in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from deepfit.errors import ConfigError
from deepfit.optim.optimizers import OPTIMIZERS, build_optimizer

Tensor = torch.Tensor
Hyper = dict[str, Tensor]  # hyperparameter name -> (K, 1) float64, one value per member
Coefficients = dict[str, Tensor]  # name -> (K, steps) table, or its (K, 1) column at one step
State = dict[str, Tensor]  # slot name -> (K, N)
Flags = dict[str, bool]  # settings that must be the same for every member (nesterov, amsgrad, ...)
Carry = dict[str, Tensor]  # per-member scalars that tables carry from one window of steps to the next


@dataclass(frozen=True)
class BatchedRule:
    """A vectorised optimizer.

    `coefficients(t, lr, hyper, flags, momentum, carry)` gets a window of consecutive 1-based step numbers
    `t` (steps,), the learning rates `lr` (K, steps) and, under a momentum schedule, the momenta (K, steps);
    it returns the per-step scalars as (K, steps) float64 tables. A rule whose scalars depend on every
    earlier step (NAdam's momentum product) keeps what the next window needs in `carry`.
    `update(p, g, state, c, flags)` gets one step's column `c` of those tables, (K, 1) in the parameters'
    dtype, and returns the new parameter values; the caller writes them (`apply_update_`), so a frozen
    member can keep its own exactly. `numeric` names the hyperparameters that may differ between members,
    `flags` the settings that must agree; `momentum` is the hyperparameter a momentum schedule (1cycle)
    sets: SGD's and RMSProp's `momentum`, the Adam family's `beta1`.
    """

    name: str
    numeric: tuple[str, ...]
    flags: tuple[str, ...]
    init_state: Callable[[Tensor, Hyper, Flags], State]
    coefficients: Callable[[Tensor, Tensor, Hyper, Flags, Tensor | None, Carry], Coefficients]
    update: Callable[[Tensor, Tensor, State, Coefficients, Flags], Tensor]
    momentum: str | None = None


# torch.optim family -> its rule; every entry of OPTIMIZERS has one (`rule_for`).
BATCHED_RULES: dict[str, BatchedRule] = {}


def _add(rule: BatchedRule) -> None:
    BATCHED_RULES[rule.name] = rule


def _l2(p: Tensor, g: Tensor, c: Coefficients) -> Tensor:
    """torch.optim's coupled weight decay, g + weight_decay * w (absent when every member's is 0)."""
    return g + c["weight_decay"] * p if "weight_decay" in c else g


def _decay_table(lr: Tensor, h: Hyper, f: Flags) -> Coefficients:
    """Decoupled weight decay (AdamW, Loshchilov & Hutter 2019) scales w by 1 - lr * wd before the step;
    the coupled kind adds wd * w to the gradient."""
    if "weight_decay" not in h:
        return {}
    if f.get("decoupled_weight_decay", False):
        return {"shrink": 1 - lr * h["weight_decay"]}
    return {"weight_decay": h["weight_decay"].expand_as(lr)}


def _decayed(p: Tensor, c: Coefficients) -> Tensor:
    return p * c["shrink"] if "shrink" in c else p


def _chosen(h: Hyper, name: str, momentum: Tensor | None, like: Tensor) -> Tensor:
    """The scheduled momentum where a schedule gives one, else the member's fixed value, as (K, steps)."""
    return momentum if momentum is not None else h[name].expand_as(like)


# -- SGD, momentum, Nesterov -------------------------------------------------------------------------------


def _sgd_state(p: Tensor, h: Hyper, f: Flags) -> State:
    # the velocity (torch's momentum_buffer); kept even at momentum 0, where the step uses the gradient
    return {"buf": torch.zeros_like(p)}


def _sgd_coefficients(
    t: Tensor, lr: Tensor, h: Hyper, f: Flags, momentum: Tensor | None, carry: Carry
) -> Coefficients:
    mu = _chosen(h, "momentum", momentum, lr)
    later = (t > 1).to(torch.float64)  # torch starts the velocity at g on the first step, undamped
    return {"lr": lr, "mu": mu, "keep": mu * later, "damp": 1 - h["dampening"] * later, "use_buf": (mu > 0) * 1.0,
            **_decay_table(lr, h, f)}


def _sgd_update(p: Tensor, g: Tensor, s: State, c: Coefficients, f: Flags) -> Tensor:
    """torch.optim.SGD:
    ```
    g   = g + wd * w
    b   = g                              at the first step
    b   = mu * b + (1 - dampening) * g   after it
    d   = g + mu * b  (nesterov)   else   b        (d = g when mu = 0)
    w   = w - lr * d
    ```
    """
    g = _l2(p, g, c)
    buf = s["buf"].mul_(c["keep"]).add_(c["damp"] * g)
    d = g + c["mu"] * buf if f["nesterov"] else torch.lerp(g, buf, c["use_buf"])
    return p - c["lr"] * d


_add(BatchedRule("sgd", ("lr", "momentum", "dampening", "weight_decay"), ("nesterov",), _sgd_state, _sgd_coefficients,
                 _sgd_update, "momentum"))


# -- AdaGrad ----------------------------------------------------------------------------------------------


def _adagrad_state(p: Tensor, h: Hyper, f: Flags) -> State:
    # sum of squared gradients, from initial_accumulator_value
    return {"sum": torch.ones_like(p) * h["initial_accumulator_value"].to(p.dtype)}


def _adagrad_coefficients(
    t: Tensor, lr: Tensor, h: Hyper, f: Flags, momentum: Tensor | None, carry: Carry
) -> Coefficients:
    return {"clr": lr / (1 + (t - 1) * h["lr_decay"]), "eps": h["eps"].expand_as(lr), **_decay_table(lr, h, f)}


def _adagrad_update(p: Tensor, g: Tensor, s: State, c: Coefficients, f: Flags) -> Tensor:
    """torch.optim.Adagrad (Duchi et al. 2011):
    ```
    g   = g + wd * w
    n   = n + g^2
    w   = w - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(n) + eps)
    ```
    """
    g = _l2(p, g, c)
    total = s["sum"].addcmul_(g, g)
    return p - c["clr"] * g / (total.sqrt() + c["eps"])


_add(BatchedRule("adagrad", ("lr", "lr_decay", "weight_decay", "eps", "initial_accumulator_value"), (),
                 _adagrad_state, _adagrad_coefficients, _adagrad_update))


# -- RMSProp ----------------------------------------------------------------------------------------------


def _rmsprop_state(p: Tensor, h: Hyper, f: Flags) -> State:
    state = {"square_avg": torch.zeros_like(p), "buf": torch.zeros_like(p)}
    if f["centered"]:
        state["grad_avg"] = torch.zeros_like(p)  # running mean of the gradient (centered RMSProp)
    return state


def _rmsprop_coefficients(
    t: Tensor, lr: Tensor, h: Hyper, f: Flags, momentum: Tensor | None, carry: Carry
) -> Coefficients:
    alpha = h["alpha"].expand_as(lr)
    return {"lr": lr, "alpha": alpha, "one_minus_alpha": 1 - alpha, "eps": h["eps"].expand_as(lr),
            "mu": _chosen(h, "momentum", momentum, lr), **_decay_table(lr, h, f)}


def _rmsprop_update(p: Tensor, g: Tensor, s: State, c: Coefficients, f: Flags) -> Tensor:
    """torch.optim.RMSprop (Hinton 2012; Graves 2013 for the centered form):
    ```
    g   = g + wd * w
    v   = alpha * v + (1 - alpha) * g^2
    a   = sqrt(v - gbar^2) + eps,  gbar = alpha * gbar + (1 - alpha) * g   (centered)   else   sqrt(v) + eps
    b   = mu * b + g / a;   w = w - lr * b          (b = g / a when mu = 0)
    ```
    """
    g = _l2(p, g, c)
    v = s["square_avg"].mul_(c["alpha"]).addcmul_(c["one_minus_alpha"] * g, g)
    if f["centered"]:
        gbar = s["grad_avg"].lerp_(g, c["one_minus_alpha"])
        avg = (v - gbar * gbar).sqrt() + c["eps"]
    else:
        avg = v.sqrt() + c["eps"]
    buf = s["buf"].mul_(c["mu"]).add_(g / avg)
    return p - c["lr"] * buf


_add(BatchedRule("rmsprop", ("lr", "alpha", "eps", "weight_decay", "momentum"), ("centered",), _rmsprop_state,
                 _rmsprop_coefficients, _rmsprop_update, "momentum"))


# -- Adam, AdamW, AdaMax, Nadam ---------------------------------------------------------------------------


def _adam_state(p: Tensor, h: Hyper, f: Flags) -> State:
    state = {"exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}
    if f.get("amsgrad", False):
        state["max_exp_avg_sq"] = torch.zeros_like(p)  # running maximum of exp_avg_sq (AMSGrad)
    return state


def _moments(t: Tensor, lr: Tensor, h: Hyper, momentum: Tensor | None) -> Coefficients:
    b1 = _chosen(h, "beta1", momentum, lr)
    b2 = h["beta2"].expand_as(lr)
    return {"one_minus_beta1": 1 - b1, "beta2": b2, "one_minus_beta2": 1 - b2, "eps": h["eps"].expand_as(lr)}


def _adam_coefficients(
    t: Tensor, lr: Tensor, h: Hyper, f: Flags, momentum: Tensor | None, carry: Carry
) -> Coefficients:
    b1 = _chosen(h, "beta1", momentum, lr)
    return {**_moments(t, lr, h, momentum), "step_size": lr / (1 - b1**t),
            "inv_sqrt_bc2": 1 / (1 - h["beta2"] ** t).sqrt(), **_decay_table(lr, h, f)}


def _update_moments(g: Tensor, s: State, c: Coefficients) -> tuple[Tensor, Tensor]:
    m = s["exp_avg"].lerp_(g, c["one_minus_beta1"])
    v = s["exp_avg_sq"].mul_(c["beta2"]).addcmul_(c["one_minus_beta2"] * g, g)
    return m, v


def _adam_update(p: Tensor, g: Tensor, s: State, c: Coefficients, f: Flags) -> Tensor:
    """torch.optim.Adam / AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019):
    ```
    w   = w * (1 - lr * wd)  (decoupled)   else   g = g + wd * w
    m   = beta1 * m + (1 - beta1) * g;     v = beta2 * v + (1 - beta2) * g^2    (vmax = max(vmax, v): amsgrad)
    w   = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    ```
    """
    base, g = _decayed(p, c), _l2(p, g, c)
    m, v = _update_moments(g, s, c)
    if f["amsgrad"]:
        v = torch.maximum(s["max_exp_avg_sq"], v, out=s["max_exp_avg_sq"])
    return base - c["step_size"] * m / (v.sqrt() * c["inv_sqrt_bc2"] + c["eps"])


def _adam(name: str) -> BatchedRule:
    return BatchedRule(name, ("lr", "beta1", "beta2", "eps", "weight_decay"), ("amsgrad", "decoupled_weight_decay"),
                       _adam_state, _adam_coefficients, _adam_update, "beta1")


_add(_adam("adam"))
_add(_adam("adamw"))


def _adamax_state(p: Tensor, h: Hyper, f: Flags) -> State:
    return {"exp_avg": torch.zeros_like(p), "exp_inf": torch.zeros_like(p)}


def _adamax_coefficients(
    t: Tensor, lr: Tensor, h: Hyper, f: Flags, momentum: Tensor | None, carry: Carry
) -> Coefficients:
    b1 = _chosen(h, "beta1", momentum, lr)
    return {"one_minus_beta1": 1 - b1, "beta2": h["beta2"].expand_as(lr), "eps": h["eps"].expand_as(lr),
            "clr": lr / (1 - b1**t), **_decay_table(lr, h, f)}


def _adamax_update(p: Tensor, g: Tensor, s: State, c: Coefficients, f: Flags) -> Tensor:
    """torch.optim.Adamax (Kingma & Ba 2015, section 7.1):
    ```
    g   = g + wd * w
    m   = beta1 * m + (1 - beta1) * g;    u = max(beta2 * u, |g| + eps)
    w   = w - lr / (1 - beta1^t) * m / u
    ```
    """
    g = _l2(p, g, c)
    m = s["exp_avg"].lerp_(g, c["one_minus_beta1"])
    u = torch.maximum(s["exp_inf"] * c["beta2"], g.abs() + c["eps"], out=s["exp_inf"])
    return p - c["clr"] * m / u


_add(BatchedRule("adamax", ("lr", "beta1", "beta2", "eps", "weight_decay"), (), _adamax_state, _adamax_coefficients,
                 _adamax_update, "beta1"))


def _nadam_coefficients(
    t: Tensor, lr: Tensor, h: Hyper, f: Flags, momentum: Tensor | None, carry: Carry
) -> Coefficients:
    """NAdam's momentum product P_t = mu_1 ... mu_t runs over every step since the first: `carry` holds
    P at the end of the previous window."""
    b1 = _chosen(h, "beta1", momentum, lr)
    decay = h["momentum_decay"]
    mu = b1 * (1 - 0.5 * 0.96 ** (t * decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * decay))
    before = carry.get("mu_product", torch.ones_like(mu[:, :1]))  # (K, 1)
    prod = before * torch.cumprod(mu, dim=1)
    carry["mu_product"] = prod[:, -1:]
    return {**_moments(t, lr, h, momentum), "inv_bc2": 1 / (1 - h["beta2"] ** t),
            "c_grad": lr * (1 - mu) / (1 - prod), "c_avg": lr * mu_next / (1 - prod * mu_next),
            **_decay_table(lr, h, f)}


def _nadam_update(p: Tensor, g: Tensor, s: State, c: Coefficients, f: Flags) -> Tensor:
    """torch.optim.NAdam (Dozat 2016), with its momentum decay psi:
    ```
    mu_t = beta1 * (1 - 0.5 * 0.96^(t * psi));   P_t = mu_1 ... mu_t
    m    = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2;   d = sqrt(v / (1 - beta2^t)) + eps
    w    = w - lr * (1 - mu_t) / (1 - P_t) * g / d - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m / d
    ```
    """
    base, g = _decayed(p, c), _l2(p, g, c)
    m, v = _update_moments(g, s, c)
    return base - (c["c_grad"] * g + c["c_avg"] * m) / ((v * c["inv_bc2"]).sqrt() + c["eps"])


_add(BatchedRule("nadam", ("lr", "beta1", "beta2", "eps", "weight_decay", "momentum_decay"),
                 ("decoupled_weight_decay",), _adam_state, _nadam_coefficients, _nadam_update, "beta1"))


# -- FTRL -------------------------------------------------------------------------------------------------


def _ftrl_state(p: Tensor, h: Hyper, f: Flags) -> State:
    return {"accumulator": torch.ones_like(p) * h["initial_accumulator_value"].to(p.dtype),
            "linear": torch.zeros_like(p)}


def _ftrl_coefficients(
    t: Tensor, lr: Tensor, h: Hyper, f: Flags, momentum: Tensor | None, carry: Carry
) -> Coefficients:
    return {"inv_lr": 1 / lr, "neg_power": -h["lr_power"].expand_as(lr), "shrinkage": 2 * h["l2_shrinkage"]
            .expand_as(lr), "l1": h["l1"].expand_as(lr), "two_l2": 2 * h["l2"].expand_as(lr)}


def _ftrl_update(p: Tensor, g: Tensor, s: State, c: Coefficients, f: Flags) -> Tensor:
    """FTRL-Proximal as `deepfit.optim.ftrl.ftrl_update_` (McMahan et al. 2013; Keras `Ftrl`)."""
    accum, linear = s["accumulator"], s["linear"]
    new_accum = accum + g * g
    new_pow = new_accum.pow(c["neg_power"])
    linear.add_(g + c["shrinkage"] * p - (new_pow - accum.pow(c["neg_power"])) * c["inv_lr"] * p)
    accum.copy_(new_accum)
    quadratic = new_pow * c["inv_lr"] + c["two_l2"]
    return (torch.minimum(torch.maximum(linear, -c["l1"]), c["l1"]) - linear) / quadratic


_add(BatchedRule("ftrl", ("lr", "lr_power", "initial_accumulator_value", "l1", "l2", "l2_shrinkage"), (),
                 _ftrl_state, _ftrl_coefficients, _ftrl_update))


# -- resolving hyperparameters ----------------------------------------------------------------------------

# Registry optimizers that are torch's SGD under another name.
_RULE_OF = {"momentum": "sgd", "nesterov": "sgd"}
# torch param-group keys that change nothing in the maths here.
_IGNORED = {"params", "foreach", "fused", "capturable", "differentiable", "initial_lr"}


def rule_for(optimizer: str) -> BatchedRule:
    """The batched rule of registry optimizer `optimizer` (`momentum` and `nesterov` are SGD's)."""
    name = OPTIMIZERS.canonical(optimizer)
    return BATCHED_RULES[_RULE_OF.get(name, name)]


def resolve_hyperparameters(optimizer: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Every hyperparameter of `optimizer` with `params` applied, as torch's param group holds them.

    The optimizer is built over a throw-away parameter through the registry, so its validation and its
    defaults (the registry's, then torch's) are the ones that apply; `betas` become `beta1`, `beta2`.

    Raises:
        ConfigError: an unknown optimizer or parameter, a bad value, or `maximize = true`.
    """
    group = dict(build_optimizer(optimizer, [torch.zeros(1, requires_grad=True)], **params).param_groups[0])
    if "betas" in group:
        group["beta1"], group["beta2"] = (float(b) for b in group.pop("betas"))
    if group.pop("maximize", False):
        raise ConfigError(f"optimizer {optimizer!r}: maximize = true is not supported; deepfit minimises the loss")
    return {k: v for k, v in group.items() if k not in _IGNORED}


def stack_hyperparameters(
    optimizer: str, members: Sequence[Mapping[str, Any]], device: torch.device | str = "cpu"
) -> tuple[BatchedRule, Hyper, Flags]:
    """The rule of `optimizer` and its hyperparameters for K members: (K, 1) float64 tensors and shared flags.

    `members[k]` holds member k's optimizer parameters as a user gives them (torch names; the defaults are
    applied by `resolve_hyperparameters`). Weight decay is left out when every member's is 0.

    Raises:
        ConfigError: a flag (nesterov, amsgrad, centered, ...) differs between members, which cannot then
            share one update rule; or any error of `resolve_hyperparameters`.
    """
    rule = rule_for(optimizer)
    resolved = [resolve_hyperparameters(optimizer, m) for m in members]
    flags: Flags = {}
    for name in rule.flags:
        values = {bool(r.get(name, False)) for r in resolved}
        if len(values) > 1:
            raise ConfigError(f"optimizer {optimizer!r}: members differ in {name}; train them in separate groups")
        flags[name] = values.pop()
    hyper: Hyper = {}
    for name in rule.numeric:
        values = [float(r.get(name, 0.0)) for r in resolved]
        if name == "weight_decay" and not any(values):
            continue
        hyper[name] = torch.tensor(values, dtype=torch.float64, device=device).view(-1, 1)  # (K, 1)
    return rule, hyper, flags


def coefficient_tables(
    rule: BatchedRule,
    hyper: Hyper,
    flags: Flags,
    lr: Tensor,
    first_step: int,
    carry: Carry,
    momentum: Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> Coefficients:
    """The rule's per-step scalars for steps `first_step`, ..., `first_step + S - 1` (1-based), as (K, S) tables.

    `lr` and `momentum` are (K, S) (`momentum` None without a momentum schedule). Windows must come in
    order, each starting where the last ended, with the same `carry` (empty before the first).
    """
    t = torch.arange(first_step, first_step + lr.shape[1], dtype=torch.float64, device=lr.device)  # (S,)
    mom = None if momentum is None else momentum.double()
    tables = rule.coefficients(t, lr.double(), hyper, flags, mom, carry)
    return {k: v.to(dtype) for k, v in tables.items()}


def apply_update_(p: Tensor, new: Tensor, active: Tensor | None = None) -> None:
    """Write a rule's new parameter values into `p` (K, N); members where `active` (K, 1) is False keep theirs."""
    p.copy_(new if active is None else torch.where(active, new, p))
