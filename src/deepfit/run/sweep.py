"""Many runs at once: which configs can train as members of one group, and training such a group.

Two configs can share a group when they differ only in numbers a member may have of its own: the seed,
the optimizer's hyperparameters, the schedule, penalty factors, the clipping threshold, the max-norm
radius, dropout rates, the initializer, and parameter-free activations. Everything else (the data, the
architecture's shapes, batch size, epochs, early stopping, names and flags) must agree. `deepfit sweep`
and `deepfit study` plan their runs into such groups; `engine="sequential"` runs them one by one.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from deepfit.config import RunConfig, apply_overrides, parse_override
from deepfit.data import Splits
from deepfit.errors import ConfigError
from deepfit.nn import ACTIVATIONS
from deepfit.run.predictions import FinalPass
from deepfit.run.setup import build_member, build_trainer, model_spec, resolve_device, run_callbacks, split_seed
from deepfit.run.threads import use_threads
from deepfit.run.training import (
    RunResult,
    final_metrics,
    resolved_config,
    run_training,
    warn_if_not_self_normalizing,
)
from deepfit.train import Callback

# Activations that cannot differ between members: PReLU carries parameters of its own (their shapes would
# differ), RReLU draws its random slopes in one op for every member (train/stacked.py).
_OWN_GROUP_ACTIVATIONS = {"prelu", "rrelu"}
MAX_MEMBERS = 64  # members per group: beyond this a group's buffers grow without speeding anything up
ENGINES = ("grouped", "sequential")


def group_key(cfg: RunConfig) -> str:
    """A string equal for configs that can train as members of one group (see the module docstring).

    A config with a `[transfer]` section (staged fine-tuning) gets a key of its own: it trains alone.
    """
    data = cfg.model_dump(mode="json")
    if cfg.transfer is not None:
        return json.dumps({"alone": data}, sort_keys=True)
    data["name"] = data["out"] = None
    train = data["train"]
    if split_seed(cfg) is None:  # the same rows for every seed
        train["seed"] = None
    data["optimizer"] = {k: v for k, v in data["optimizer"].items() if k == "name" or isinstance(v, bool)}
    if cfg.schedule.name not in ("performance", "reduce_on_plateau", "plateau"):
        data["schedule"] = None  # evaluated into per-member tables
    model = data["model"]
    activation = cfg.model.activation
    if activation is None or ACTIVATIONS.canonical(
        activation if isinstance(activation, str) else activation["name"]
    ) not in _OWN_GROUP_ACTIVATIONS:
        model["activation"] = None
    model["init"] = model["layer_init"] = None  # the weights are built per member
    dropout = model["dropout"]
    model["dropout"] = None if not isinstance(dropout, list) else len(dropout)
    model["input_dropout"] = None
    reg = data["regularization"]
    reg["penalty"] = _penalty_shape(reg["penalty"])
    reg["layers"] = {k: _penalty_shape(v) for k, v in reg["layers"].items()}
    if isinstance(reg["max_norm"], dict):
        reg["max_norm"] = {k: v for k, v in reg["max_norm"].items() if k != "max_value"}
    elif reg["max_norm"] is not None:
        reg["max_norm"] = {}
    if data["clip"] is not None:
        data["clip"] = {"name": data["clip"]["name"]}
    return json.dumps(data, sort_keys=True)


def _penalty_shape(spec: Any) -> Any:
    """What of a penalty must agree between members: whether there is one, and whether it covers biases."""
    if spec is None or spec is False or spec == "none":
        return None
    return {"bias": bool(spec.get("bias", False))} if isinstance(spec, dict) else {"bias": False}


def plan_groups(configs: Sequence[RunConfig], max_members: int = MAX_MEMBERS) -> list[list[int]]:
    """Indices of `configs` grouped for training at once, in order of first appearance; each group has at
    most `max_members` members."""
    by_key: dict[str, list[int]] = {}
    for i, cfg in enumerate(configs):
        by_key.setdefault(group_key(cfg), []).append(i)
    groups = []
    for members in by_key.values():
        groups += [members[i : i + max_members] for i in range(0, len(members), max_members)]
    return groups


def run_group(
    configs: Sequence[RunConfig],
    splits: Splits,
    *,
    quiet: bool = True,
    extra_callbacks: Sequence[Callback] = (),
) -> list[RunResult]:
    """Train `configs` (one group, see `plan_groups`) at once on `splits`; one `RunResult` per config.

    Each member is built from its own seed, so its initial weights are those of the single run; per-member
    callbacks in `extra_callbacks` (probes) are copied for every member. A single config, or one that
    cannot be grouped (staged fine-tuning), trains through `run_training`.
    """
    own = sorted({c.model.factory for c in configs if c.model.factory is not None})
    if len(configs) > 1 and own:
        raise ConfigError(f"model.factory {own[0]!r}: your own network trains through its own forward, one run at a "
                          'time, not as members of one group; set sweep.engine = "sequential" (--engine sequential)')
    if len(configs) == 1 or configs[0].transfer is not None:
        return [run_training(c, save=False, splits=splits, quiet=quiet,
                             extra_callbacks=[copy.deepcopy(cb) for cb in extra_callbacks]) for c in configs]
    configs = [resolved_config(c, splits) for c in configs]
    first = configs[0]
    threads = use_threads(first.train.threads)
    device = resolve_device(first.train.device)
    specs = [model_spec(c, splits) for c in configs]
    models = [build_member(c, spec) for c, spec in zip(configs, specs, strict=True)]
    for c, m, spec in zip(configs, models, specs, strict=True):
        warn_if_not_self_normalizing(m, spec, splits, c)
    on_device = splits.to(device)
    callbacks = [*extra_callbacks, *run_callbacks(first, splits, quiet=quiet)]
    start = time.perf_counter()
    trainer = build_trainer(list(configs), models, on_device, device, callbacks)
    trainer.fit(on_device.train, on_device.valid, epochs=first.train.epochs, verbose=0)
    elapsed = time.perf_counter() - start
    results = []
    final = FinalPass(trainer, on_device)  # one pass over each split for every member's figures and saved files
    for k, (cfg, metrics) in enumerate(zip(configs, final_metrics(trainer, on_device, final), strict=True)):
        metrics.update(fit_time_s=elapsed, members=len(configs), device=str(device), threads=threads,
                       seed=cfg.train.seed)
        results.append(RunResult(cfg, trainer.members[k].history, metrics, None, trainer, splits, member=k,
                                 final=final))
    return results


def train_groups(
    configs: Sequence[RunConfig],
    splits_for: Callable[[RunConfig], Splits],
    *,
    engine: str = "grouped",
    quiet: bool = True,
    callbacks: Callable[[], Sequence[Callback]] = tuple,
    max_members: int = MAX_MEMBERS,
) -> Iterator[tuple[list[int], list[RunResult]]]:
    """Train every config, in groups (`engine="grouped"`) or one at a time (`"sequential"`), yielding each
    group's indices into `configs` and its results as it finishes.

    `splits_for` loads (or reuses) a config's data; `callbacks` makes the extra callbacks of one group.
    """
    if engine not in ENGINES:
        raise ConfigError(f"--engine: expected {' or '.join(ENGINES)}, got {engine!r}")
    plan = plan_groups(configs, max_members) if engine == "grouped" else [[i] for i in range(len(configs))]
    for group in plan:
        members = [configs[i] for i in group]
        yield group, run_group(members, splits_for(members[0]), quiet=quiet, extra_callbacks=list(callbacks()))


# -- grids ------------------------------------------------------------------------------------------------


def parse_grid(option: str) -> tuple[str, list[Any]]:
    """`key=v1,v2,...` (values in TOML syntax, as `--set` takes them) -> (key, values).

    Commas inside brackets, braces or quotes belong to a value: `model.hidden=[100, 100],[300, 100]`.
    """
    if "=" not in option:
        raise ConfigError(f"--grid expects key=value1,value2,... (e.g. optimizer.lr=1e-3,3e-3), got {option!r}")
    key, raw = option.split("=", 1)
    parts = _split_top_level(raw)
    if not parts or any(not p.strip() for p in parts):
        raise ConfigError(f"--grid {key.strip()}: expected a comma-separated list of values, got {raw!r}")
    values = [parse_override(f"{key.strip()}={p.strip()}")[1] for p in parts]
    return key.strip(), values


def _split_top_level(text: str) -> list[str]:
    parts, depth, quote, current = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return parts if text.strip() else []


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> dict[str, dict[str, Any]]:
    """Every combination of the grid's values: variant name -> its overrides as a nested config dict.

    `grid` maps dotted keys (`optimizer.lr`) to lists of values. Names read `lr=0.001,activation=relu`.

    Raises:
        ConfigError: a key with no values.
    """
    for key, values in grid.items():
        if not isinstance(values, list | tuple) or not values:
            raise ConfigError(f"sweep grid {key!r}: expected a non-empty list of values, got {values!r}")
    keys = list(grid)
    variants = {}
    for combo in itertools.product(*(grid[k] for k in keys)):
        pairs = list(zip(keys, combo, strict=True))
        name = ",".join(f"{k.split('.')[-1]}={_short(v)}" for k, v in pairs)
        variants[name] = apply_overrides({}, [(k.split("."), v) for k, v in pairs])
    return variants


def _short(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
