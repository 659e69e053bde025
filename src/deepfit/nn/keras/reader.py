"""Read a Keras Sequential model file without TensorFlow: its layer configs and weight arrays, through h5py.

Two layouts (keras/src/legacy/saving/legacy_h5_format.py and keras/src/saving/saving_lib.py):
```
model.h5     HDF5; attribute model_config = JSON {"class_name": "Sequential", "config": {"layers": [...]}}
             group model_weights/<layer name>, attribute weight_names = ["dense/kernel:0", ...],
             one dataset per name (trainable weights first, then the others, in creation order)
model.keras  zip of config.json (the same JSON), metadata.json and model.weights.h5, in which
             layers/<snake_case class name>[_k]/vars/<i> holds the i-th variable of each layer
             (_layer_checkpoint_dependencies/ instead of layers/ in files of Keras 2.13-2.15)
```
This module only reads; what the layers mean is `deepfit.nn.keras.convert`'s business.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deepfit.errors import CheckpointError, MissingDependencyError


@dataclass(frozen=True)
class KerasLayer:
    """One layer of the file: its name, class, config, and its weights in Keras's order.

    `weight_names` are the dataset names of a legacy .h5 file (`dense/kernel:0`); a `.keras` file has none.
    """

    name: str
    class_name: str
    config: dict[str, Any]
    weights: list[np.ndarray] = field(default_factory=list)
    weight_names: list[str] | None = None


@dataclass(frozen=True)
class KerasFile:
    """What a Keras Sequential file holds: its layers (InputLayer included), the sample shape, the version."""

    path: Path
    format: str  # "h5" or "keras"
    keras_version: str
    input_shape: tuple[int, ...] | None
    layers: list[KerasLayer]


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise MissingDependencyError(
            "reading Keras files needs h5py: pip install 'deepfit[keras]' (or pip install h5py)"
        ) from None
    return h5py


def read_keras(path: str | Path) -> KerasFile:
    """Read `path`, a legacy HDF5 `.h5` file or a `.keras` zip, written by `model.save`.

    Raises:
        CheckpointError: the file is missing, of neither format, or holds no Sequential model config.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: not found; expected a Keras model file (.h5 or .keras)")
    try:
        return _read_zip(path) if zipfile.is_zipfile(path) else _read_h5(path)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:  # a truncated or damaged file
        raise CheckpointError(f"{path}: cannot be read as a Keras model file ({exc})") from None


def _read_h5(path: Path) -> KerasFile:
    h5py = _h5py()
    if not h5py.is_hdf5(path):
        raise CheckpointError(f"{path}: neither an HDF5 (.h5) nor a zip (.keras) file; expected a Keras model file")
    with h5py.File(path, "r") as f:
        raw = f.attrs.get("model_config")
        if raw is None:
            raise CheckpointError(
                f"{path}: HDF5 file without a model_config attribute (a weights-only file from save_weights?); "
                "expected a whole model saved with model.save('model.h5')"
            )
        config = _json(raw, f"{path}: model_config")
        version = _text(f.attrs.get("keras_version", "unknown"))
        layer_configs, input_shape = _sequential(config, path)
        if "model_weights" not in f:
            raise CheckpointError(f"{path}: no model_weights group; expected a model saved with model.save")
        layers = [_legacy_layer(f["model_weights"], c) for c in layer_configs]
    return KerasFile(path, "h5", version, input_shape, layers)


def _read_zip(path: Path) -> KerasFile:
    h5py = _h5py()
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        for needed in ("config.json", "model.weights.h5"):
            if needed not in names:
                raise CheckpointError(f"{path}: zip without {needed}; expected a .keras file from model.save")
        config = _json(zf.read("config.json"), f"{path}: config.json")
        meta = _json(zf.read("metadata.json"), f"{path}: metadata.json") if "metadata.json" in names else {}
        layer_configs, input_shape = _sequential(config, path)
        with h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as f:
            root = f["layers"] if "layers" in f else f.get("_layer_checkpoint_dependencies")
            layers = _zip_layers(root, layer_configs)
    return KerasFile(path, "keras", str(meta.get("keras_version", "unknown")), input_shape, layers)


def _zip_layers(root: Any, layer_configs: list[dict[str, Any]]) -> list[KerasLayer]:
    """Layers with the variables saving_lib stored for them, found by snake_case class name and count."""
    used: dict[str, int] = {}
    layers = []
    for c in layer_configs:
        weights: list[np.ndarray] = []
        if c["class_name"] != "InputLayer":  # Sequential.layers leaves the InputLayer out
            key = snake_case(c["class_name"])
            used[key] = used.get(key, -1) + 1
            key = f"{key}_{used[key]}" if used[key] else key
            group = root.get(f"{key}/vars") if root is not None else None
            if group is not None:
                weights = [np.asarray(group[k]) for k in sorted(group, key=lambda k: int(k) if k.isdigit() else -1)]
        layers.append(KerasLayer(_layer_name(c), c["class_name"], c.get("config", {}), weights))
    return layers


def _legacy_layer(group: Any, c: dict[str, Any]) -> KerasLayer:
    name = _layer_name(c)
    if name not in group:
        return KerasLayer(name, c["class_name"], c.get("config", {}), [], [])
    g = group[name]
    weight_names = _chunked_attribute(g, "weight_names")
    return KerasLayer(name, c["class_name"], c.get("config", {}), [np.asarray(g[n]) for n in weight_names],
                      weight_names)


def _chunked_attribute(group: Any, name: str) -> list[str]:
    """A list attribute Keras may have split into `name0`, `name1`, ... when it exceeded HDF5's header limit."""
    if name in group.attrs:
        values = list(group.attrs[name])
    else:
        values, k = [], 0
        while f"{name}{k}" in group.attrs:
            values += list(group.attrs[f"{name}{k}"])
            k += 1
    return [_text(v) for v in values]


def _sequential(config: Any, path: Path) -> tuple[list[dict[str, Any]], tuple[int, ...] | None]:
    """The layer configs of a Sequential model config, and its sample shape when the file records one."""
    if not isinstance(config, dict) or config.get("class_name") != "Sequential":
        found = config.get("class_name") if isinstance(config, dict) else type(config).__name__
        raise CheckpointError(f"{path}: a Keras {found} model; deepfit imports Sequential models only")
    inner = config.get("config", {})
    layers = inner if isinstance(inner, list) else inner.get("layers", [])
    if not isinstance(layers, list) or not all(isinstance(c, dict) and "class_name" in c for c in layers):
        raise CheckpointError(f"{path}: the Sequential config has no list of layers")
    shapes = [c.get("config", {}).get(k) for c in layers[:1] for k in ("batch_shape", "batch_input_shape")]
    if isinstance(inner, dict):
        shapes.append(inner.get("build_input_shape"))
    shapes.append((config.get("build_config") or {}).get("input_shape"))
    shape = next((s for s in shapes if isinstance(s, list) and len(s) >= 2), None)
    return layers, None if shape is None or None in shape[1:] else tuple(int(d) for d in shape[1:])


def _layer_name(c: dict[str, Any]) -> str:
    return str(c.get("config", {}).get("name") or c.get("name") or c["class_name"])


def snake_case(name: str) -> str:
    """Keras's `naming.to_snake_case`: `BatchNormalization` -> `batch_normalization`."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _json(raw: Any, what: str) -> Any:
    try:
        return json.loads(_text(raw))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{what}: not valid JSON ({exc})") from None
