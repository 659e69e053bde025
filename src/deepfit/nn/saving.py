"""Save and load a model as `model.json` (architecture) + `model.safetensors` (weights), without pickle.

A network from the user's own factory (nn/factory.py) also keeps the factory's source file beside them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from deepfit.atomic import atomic_path, write_text_atomic
from deepfit.errors import CheckpointError, ConfigError, ShapeError
from deepfit.nn.build import ModelSpec, build_model
from deepfit.nn.factory import FactorySpec, build_factory_model, save_source, source_name, source_text

FORMAT = "deepfit.model"
VERSION = 1


def save_model(
    model: nn.Module,
    spec: ModelSpec | FactorySpec,
    directory: str | Path,
    *,
    extra: dict[str, Any] | None = None,
    tensors: dict[str, torch.Tensor] | None = None,
) -> None:
    """Write `model.json` and `model.safetensors` into `directory`, each atomically.

    `extra` is stored in the JSON (task, class names, preprocessing); `tensors` are stored beside the
    weights under `extra.` keys (e.g. the standardisation mean and std). A factory's source file is
    written under `model_source/`, and the spec records where.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(spec, FactorySpec):
        spec = save_source(spec, directory)
    meta = {"format": FORMAT, "version": VERSION, "spec": spec.to_dict(), **(extra or {})}
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights.update({f"extra.{k}": v.detach().cpu().contiguous() for k, v in (tensors or {}).items()})
    with atomic_path(directory / "model.safetensors") as tmp:
        save_file(weights, str(tmp))
    write_text_atomic(directory / "model.json", json.dumps(meta, indent=2))


def load_model(
    directory: str | Path,
) -> tuple[nn.Module, ModelSpec | FactorySpec, dict[str, Any], dict[str, torch.Tensor]]:
    """Rebuild a saved model: returns (model in eval mode, spec, JSON metadata, extra tensors).

    A factory's network is built by calling the factory again (a file factory: its copy in `directory`),
    then the safetensors weights are loaded into it.
    """
    directory = Path(directory)
    meta_path, weights_path = directory / "model.json", directory / "model.safetensors"
    for p in (meta_path, weights_path):
        if not p.is_file():
            raise CheckpointError(f"{p}: not found; a saved model needs model.json and model.safetensors")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{meta_path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else f"a JSON {type(meta).__name__}"
        raise CheckpointError(f"{meta_path}: format {found!r}, expected {FORMAT!r}")
    factory = isinstance(meta.get("spec"), dict) and "factory" in meta["spec"]
    spec, model = _build_factory(meta, directory) if factory else _build(meta, meta_path)
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights_path}: unreadable weights ({exc})") from None
    extra = {k.removeprefix("extra."): v for k, v in tensors.items() if k.startswith("extra.")}
    state = {k: v for k, v in tensors.items() if not k.startswith("extra.")}
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{weights_path}: weights do not fit the architecture in model.json: {exc}") from None
    return model.eval(), spec, meta, extra


def _build_factory(meta: dict[str, Any], directory: Path) -> tuple[FactorySpec, nn.Module]:
    """The factory spec in `meta` and its network, built from the source copy in `directory`."""
    try:
        spec = FactorySpec.from_dict(meta["spec"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{directory / 'model.json'}: the factory spec in it is not valid ({exc})") from None
    if spec.is_file and (spec.source is None or not (directory / spec.source).is_file()):
        raise CheckpointError(f"{directory}: the model was built by {spec.factory!r} but the copy of its source "
                              f"file ({spec.source or source_name(spec.factory)}) is missing")
    try:
        spec.source_text = source_text(spec, directory)
        return spec, build_factory_model(spec, directory)
    except (ConfigError, ShapeError) as exc:
        raise CheckpointError(f"{directory}: rebuilding the saved model failed: {exc}") from None


def _build(meta: dict[str, Any], meta_path: Path) -> tuple[ModelSpec, nn.Sequential]:
    """The spec in `meta` and its network; model.json is user input, so any spec that fails to build is a
    `CheckpointError` naming the file."""
    try:
        spec = ModelSpec.from_dict(meta["spec"])
        return spec, build_model(spec)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:  # ConfigError is a ValueError
        what = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ConfigError) else str(exc)
        raise CheckpointError(f"{meta_path}: the architecture in it cannot be built ({what})") from None
