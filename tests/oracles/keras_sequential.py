"""Keras Sequential files written with h5py in Keras's own layouts, and Keras's forward pass in numpy.

The layouts follow keras/src/legacy/saving/legacy_h5_format.py (`model.save("m.h5")`: model_config attribute,
model_weights/<layer>/<weight path> datasets named in a weight_names attribute) and keras/src/saving/saving_lib.py
(`model.save("m.keras")`: a zip of config.json, metadata.json and model.weights.h5 with
layers/<snake_case class>[_k]/vars/<i>). The forward pass uses Keras's equations, in float64.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

Layer = tuple[str, dict[str, Any], list[np.ndarray]]  # (class name, config without name, weights in Keras's order)

_ROLES = {"Dense": ["kernel", "bias"], "PReLU": ["alpha"]}


def _snake(name: str) -> str:
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _roles(cls: str, config: dict[str, Any]) -> list[str]:
    if cls == "BatchNormalization":
        return [r for r, on in (("gamma", config.get("scale", True)), ("beta", config.get("center", True))) if on] + [
            "moving_mean", "moving_variance"]
    if cls == "Dense" and not config.get("use_bias", True):
        return ["kernel"]
    return _ROLES.get(cls, [])


def _named(layers: list[Layer]) -> list[tuple[str, str, dict[str, Any], list[np.ndarray]]]:
    """Keras's automatic names: dense, dense_1, ... per class."""
    used: dict[str, int] = {}
    out = []
    for cls, config, weights in layers:
        key = _snake(cls)
        used[key] = used.get(key, -1) + 1
        out.append((f"{key}_{used[key]}" if used[key] else key, cls, config, weights))
    return out


def write_h5(path: Path, layers: list[Layer], *, keras_version: str = "2.15.0") -> Path:
    """A legacy HDF5 model file as tf.keras 2 writes it (weight names `dense/kernel:0`)."""
    named = _named(layers)
    configs = [{"class_name": cls, "config": {"name": name, **_legacy(config)}} for name, cls, config, _ in named]
    model_config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": configs}}
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        f.attrs["keras_version"] = keras_version.encode("utf8")
        f.attrs["backend"] = b"tensorflow"
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [name.encode("utf8") for name, *_ in named]
        for name, cls, config, weights in sorted(named):
            lg = g.create_group(name)
            names = [f"{name}/{role}:0" for role in _roles(cls, config)[: len(weights)]]
            lg.attrs["weight_names"] = [n.encode("utf8") for n in names]
            for n, w in zip(names, weights, strict=True):
                lg.create_dataset(n, data=np.asarray(w, np.float32))
    return path


def _legacy(config: dict[str, Any]) -> dict[str, Any]:
    """Keras 2 spells an input's shape batch_input_shape."""
    return {("batch_input_shape" if k == "batch_shape" else k): v for k, v in config.items()}


def write_keras(path: Path, layers: list[Layer], *, keras_version: str = "3.6.0") -> Path:
    """A `.keras` zip as Keras 3 writes it."""
    named = _named(layers)
    configs = [{"module": "keras.layers", "class_name": cls, "config": {"name": name, **config},
                "registered_name": None} for name, cls, config, _ in named]
    shape = next((c["batch_shape"] for _, cls, c, _ in named if cls == "InputLayer"), None)
    model = {"module": "keras", "class_name": "Sequential",
             "config": {"name": "sequential", "trainable": True, "layers": configs},
             "registered_name": None, "build_config": {"input_shape": shape}}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.create_group("vars")
        for (_, cls, _, weights), key in zip(named, _keys(named), strict=True):
            if cls == "InputLayer":
                continue  # Sequential.layers leaves it out, so saving_lib never visits it
            vars_ = f.create_group(f"layers/{key}/vars")
            for i, w in enumerate(weights):
                vars_[str(i)] = np.asarray(w, np.float32)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": keras_version, "date_saved": "2026-12-01@10:00:00"}))
        zf.writestr("config.json", json.dumps(model))
        zf.writestr("model.weights.h5", buffer.getvalue())
    return path


def _keys(named: list[tuple[str, str, dict[str, Any], list[np.ndarray]]]) -> list[str]:
    """saving_lib's container names: snake_case class name, _1, _2, ... per class, InputLayer not counted."""
    used: dict[str, int] = {}
    keys = []
    for _, cls, _, _ in named:
        key = _snake(cls)
        if cls != "InputLayer":
            used[key] = used.get(key, -1) + 1
            key = f"{key}_{used[key]}" if used[key] else key
        keys.append(key)
    return keys


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def activation(name: Any, z: np.ndarray) -> np.ndarray:
    """Keras's activation functions (keras/src/activations/activations.py)."""
    if isinstance(name, dict):
        name = name["config"]
    if name == "linear":
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "selu":
        return _SELU_SCALE * np.where(z > 0, z, _SELU_ALPHA * np.expm1(z))
    if name == "elu":
        return np.where(z > 0, z, np.expm1(z))
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.2 * z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(name)


def forward(layers: list[Layer], x: np.ndarray) -> np.ndarray:
    """Keras's inference-mode outputs of the Sequential `layers` on `x`, in float64."""
    h = np.asarray(x, np.float64)
    for cls, config, weights in layers:
        w = [np.asarray(a, np.float64) for a in weights]
        if cls == "Flatten":
            h = h.reshape(len(h), -1)
        elif cls == "Dense":
            h = activation(config.get("activation", "linear"), h @ w[0] + (w[1] if len(w) > 1 else 0))
        elif cls == "BatchNormalization":
            roles = dict(zip(_roles(cls, config), w, strict=True))
            gamma, beta = roles.get("gamma", 1.0), roles.get("beta", 0.0)
            eps = config.get("epsilon", 1e-3)
            h = gamma * (h - roles["moving_mean"]) / np.sqrt(roles["moving_variance"] + eps) + beta
        elif cls == "Activation":
            h = activation(config["activation"], h)
        elif cls == "LeakyReLU":
            h = np.where(h > 0, h, config.get("negative_slope", config.get("alpha", 0.3)) * h)
        elif cls == "PReLU":
            h = np.where(h > 0, h, w[0] * h)
    return h
