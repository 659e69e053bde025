"""Paths in a configuration made absolute: those of a config file relative to the file's folder (as every tool
that reads config files does: `deepfit train --config /x/configs/cnn.toml` works from any directory), those of
the command line relative to the current directory. A run's config.toml then records where everything was."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

# (section, ..., key) of the settings that name files or folders
PATH_KEYS: tuple[tuple[str, ...], ...] = (
    ("data", "path"), ("data", "dir"), ("data", "labels"), ("data", "options", "test_dir"),
)
TRANSFER_KEYS = ("source", "from")  # a run directory, or a zoo name: made absolute only when it exists as a path


def absolute_paths(data: dict[str, Any], root: str | os.PathLike[str]) -> dict[str, Any]:
    """A copy of the raw configuration `data` with its relative paths joined to `root` (made absolute):
    `PATH_KEYS`, the file of a `model.factory = "file.py:build"` (not a `package.module:build`), and a
    `transfer.source` that is a path below `root`. `~` is expanded; absolute paths are kept as they are."""
    root = Path(root).absolute()
    out = copy.deepcopy(data)
    for keys in PATH_KEYS:
        node = _section(out, keys[:-1])
        if node is not None and isinstance(node.get(keys[-1]), str):
            node[keys[-1]] = _joined(root, node[keys[-1]])
    model = out.get("model")
    if isinstance(model, dict) and isinstance(model.get("factory"), str):
        from deepfit.nn.factory import is_reference, parse_reference  # torch: only where a factory is named

    if isinstance(model, dict) and isinstance(model.get("factory"), str) and is_reference(model["factory"]):
        where, name = parse_reference(model["factory"])
        if where.endswith(".py") or "/" in where or "\\" in where:
            model["factory"] = f"{_joined(root, where)}:{name}"
    transfer = out.get("transfer")
    if isinstance(transfer, dict):
        for key in TRANSFER_KEYS:
            value = transfer.get(key)
            if isinstance(value, str) and not Path(value).expanduser().is_absolute() and (root / value).exists():
                transfer[key] = _joined(root, value)
    return out


def _section(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any] | None:
    node: Any = data
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _joined(root: Path, value: str) -> str:
    path = Path(value).expanduser()
    return value if path.is_absolute() and value == str(path) else os.path.normpath(root / path)
