"""A local model zoo: trained run directories, imported models and architectures with weights, by name.

The catalogue is one JSON file, `zoo.json`, in `$DEEPFIT_ZOO` or `~/.cache/deepfit/zoo`, written atomically.
It records where things are; it copies nothing. `transfer.source` (`deepfit transfer --from`) takes a zoo
name where it takes a run directory. Architectures (torchvision, timm, or a factory function of your own)
are registered with a weights file you supply, so nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from deepfit.atomic import write_text_atomic
from deepfit.config import read_toml
from deepfit.errors import CheckpointError, ConfigError, MissingDependencyError
from deepfit.registry import Registry
from deepfit.train.objectives import TASK_LOSSES

ARCHITECTURES: Registry[nn.Module] = Registry("zoo architecture source")  # (name) -> an untrained module
_FORMAT = "deepfit.zoo"


@ARCHITECTURES.register("torchvision", summary="torchvision.models.get_model(name, weights=None)")
def torchvision_model(name: str) -> nn.Module:
    try:
        import torchvision
    except ImportError:
        raise MissingDependencyError("zoo: --torchvision needs torchvision: pip install torchvision") from None
    return torchvision.models.get_model(name, weights=None)


@ARCHITECTURES.register("timm", summary="timm.create_model(name, pretrained=False)")
def timm_model(name: str) -> nn.Module:
    try:
        import timm
    except ImportError:
        raise MissingDependencyError("zoo: --timm needs timm: pip install timm") from None
    return timm.create_model(name, pretrained=False)


@ARCHITECTURES.register("factory", summary="a function of yours, 'package.module:function', called with no arguments")
def factory_model(name: str) -> nn.Module:
    module_name, _, function = name.partition(":")
    try:
        build = getattr(importlib.import_module(module_name), function)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"zoo: factory {name!r}: expected 'package.module:function' ({exc})") from None
    model = build()
    if not isinstance(model, nn.Module):
        raise ConfigError(f"zoo: factory {name!r} returned a {type(model).__name__}, expected a torch nn.Module")
    return model


def zoo_dir() -> Path:
    """The catalogue's directory: `$DEEPFIT_ZOO`, else `~/.cache/deepfit/zoo`."""
    return Path(os.environ.get("DEEPFIT_ZOO") or Path.home() / ".cache" / "deepfit" / "zoo")


def read_zoo(directory: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every entry by name (empty when there is no catalogue yet)."""
    path = (directory or zoo_dir()) / "zoo.json"
    if not path.is_file():
        return {}
    data = _json(path)
    if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("models"), dict):
        raise CheckpointError(f"{path}: not a deepfit zoo catalogue (expected format {_FORMAT!r} and models)")
    return data["models"]


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from None


def _write(models: dict[str, dict[str, Any]], directory: Path | None) -> None:
    path = (directory or zoo_dir()) / "zoo.json"
    write_text_atomic(path, json.dumps({"format": _FORMAT, "models": models}, indent=2) + "\n")


def _check_name(name: str) -> str:
    if not name or any(c in name for c in "/\\\0") or name in (".", ".."):
        raise ConfigError(f"zoo: a name is one word without '/', got {name!r}")
    return name


def add_run(name: str, run_dir: str | Path, *, directory: Path | None = None, replace: bool = False
            ) -> dict[str, Any]:
    """Register a run directory (trained, pretrained or imported) under `name`; returns its entry.

    Task, data, test accuracy and input shape are read from its model.json, config.toml and metrics.json.
    """
    run_dir = Path(run_dir).resolve()
    meta_path = run_dir / "model.json"
    if not meta_path.is_file():
        raise CheckpointError(f"zoo add: {run_dir} holds no model.json; expected a deepfit run directory")
    meta = _json(meta_path)
    config = read_toml(run_dir / "config.toml") if (run_dir / "config.toml").is_file() else {}
    metrics = _json(run_dir / "metrics.json") if (run_dir / "metrics.json").is_file() else {}
    entry = {
        "kind": "run",
        "path": str(run_dir),
        "task": config.get("data", {}).get("task", "multiclass"),  # what it predicts; `loss`, how it learned
        "loss": meta.get("task"),
        "data": "keras import" if "imported" in meta else config.get("data", {}).get("name", "fashion_mnist"),
        "accuracy": (metrics.get("test") or {}).get("acc"),
        "input_shape": list(meta.get("spec", {}).get("input_shape", [])),
        "added": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    return _add(name, entry, directory, replace)


def add_architecture(name: str, source: str, architecture: str, weights: str | Path, *,
                     directory: Path | None = None, replace: bool = False) -> dict[str, Any]:
    """Register `architecture` from `source` (torchvision, timm, factory) with a safetensors weights file.

    The weights are loaded into the architecture now, so a file that does not fit fails here, not later.

    Raises:
        CheckpointError: the weights file is missing, a pickled `.pth`, or does not fit the architecture.
    """
    weights = Path(weights).resolve()
    source = ARCHITECTURES.canonical(source)
    load_architecture({"source": source, "architecture": architecture, "weights": str(weights)})
    entry = {"kind": "architecture", "source": source, "architecture": architecture, "weights": str(weights),
             "task": None, "data": None, "accuracy": None, "input_shape": None,
             "added": time.strftime("%Y-%m-%d %H:%M:%S")}
    return _add(name, entry, directory, replace)


def _add(name: str, entry: dict[str, Any], directory: Path | None, replace: bool) -> dict[str, Any]:
    models = read_zoo(directory)
    if _check_name(name) in models and not replace:
        raise ConfigError(f"zoo: {name!r} is already registered ({_where(models[name])}); remove it first")
    models[name] = entry
    _write(models, directory)
    return entry


def remove(name: str, *, directory: Path | None = None) -> dict[str, Any]:
    """Unregister `name` (its files stay where they are); returns the removed entry."""
    models = read_zoo(directory)
    entry = lookup(name, models)
    del models[name]
    _write(models, directory)
    return entry


def lookup(name: str, models: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The entry registered as `name`; an unknown name is a `ConfigError` listing the registered ones."""
    models = read_zoo() if models is None else models
    if name not in models:
        raise ConfigError(f"zoo: no model named {name!r}; registered: {', '.join(sorted(models)) or 'none'} "
                          f"(catalogue {zoo_dir() / 'zoo.json'})")
    return models[name]


def resolve_source(source: str) -> str:
    """A run directory given as a path, or as the name of a zoo run entry (the path wins when both exist)."""
    if Path(source).exists() or source not in read_zoo():
        return source
    entry = read_zoo()[source]
    if entry["kind"] != "run":
        raise ConfigError(f"zoo: {source!r} is a {entry['source']} architecture; transfer takes run directories "
                          "(deepfit's dense networks); load it in Python with deepfit.run.zoo.load_architecture")
    return entry["path"]


def load_architecture(entry: dict[str, Any]) -> nn.Module:
    """The module of an architecture entry with its weights loaded (strictly), in evaluation mode."""
    weights = Path(entry["weights"])
    if weights.suffix in (".pth", ".pt", ".bin", ".ckpt"):
        raise CheckpointError(
            f"zoo: {weights} is a pickled torch file; deepfit loads no pickle. Convert it once: python -c \"import "
            f"torch; from safetensors.torch import save_file; save_file(torch.load('{weights.name}', "
            f"weights_only=True), '{weights.stem}.safetensors')\""
        )
    if not weights.is_file():
        raise CheckpointError(f"zoo: weights file {weights} not found")
    model = ARCHITECTURES.build(entry["source"], entry["architecture"])
    try:
        state = load_file(str(weights))
        model.load_state_dict(state)
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"zoo: {weights}: unreadable safetensors file ({exc})") from None
    except RuntimeError as exc:
        raise CheckpointError(f"zoo: {weights} does not fit {entry['source']} {entry['architecture']}: "
                              f"{str(exc).splitlines()[0]}") from None
    return model.eval()


def entry_task(entry: dict[str, Any]) -> str | None:
    """What an entry predicts (multiclass, binary, regression); catalogues written before `loss` was kept
    apart recorded the loss's name as the task, which this reads back as the task it serves."""
    task = entry.get("task")
    if "loss" not in entry and task is not None:
        return next((t for t, loss in TASK_LOSSES.items() if loss == task), task)
    return task


def _where(entry: dict[str, Any]) -> str:
    return entry["path"] if entry["kind"] == "run" else f"{entry['source']} {entry['architecture']}"
