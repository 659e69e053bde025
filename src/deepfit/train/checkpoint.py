"""Resumable checkpoints: tensors in safetensors, everything else in JSON, so reading one never unpickles.

`checkpoint/state.json` is the manifest and the commit point: it holds the state's skeleton (train/nested.py)
and names the tensor file `tensors-<sha256 prefix>.safetensors` with its SHA-256. Each file is written
atomically and the tensor file first, so a reader sees either the previous pair or the new one, whole.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from deepfit.atomic import atomic_path, write_text_atomic
from deepfit.errors import CheckpointError
from deepfit.train.nested import join_tensors, split_tensors

MANIFEST = "state.json"
LEGACY = "state.pt"  # deepfit 0.1's pickle-based checkpoint: refused, never loaded
FILE_FORMAT, FILE_VERSION = "deepfit.checkpoint", 1
FORMAT = 2  # the trainer's state layout: 2 is the engine's flat tensors (train/flat.py)
REQUIRED = ("format", "group", "epoch", "step", "rng", "members")
_TENSOR_FILE = re.compile(r"tensors-[0-9a-f]{16}\.safetensors")


def save_checkpoint(state: dict[str, Any], directory: str | Path) -> Path:
    """Write a trainer's `state_dict()` into `directory` (the tensor file, then `state.json`); returns the
    manifest's path. Tensor files and temporary files of earlier checkpoints are removed afterwards."""
    directory = Path(directory)
    skeleton, tensors = split_tensors(state)
    blob = save_safetensors(tensors)
    digest = hashlib.sha256(blob).hexdigest()
    name = f"tensors-{digest[:16]}.safetensors"
    with atomic_path(directory / name) as tmp:
        tmp.write_bytes(blob)
    manifest = {"format": FILE_FORMAT, "version": FILE_VERSION, "epoch": state.get("epoch"), "tensors": name,
                "sha256": digest, "state": skeleton}
    path = write_text_atomic(directory / MANIFEST, json.dumps(manifest, allow_nan=False, separators=(",", ":")))
    for stale in directory.iterdir():
        if (_TENSOR_FILE.fullmatch(stale.name) and stale.name != name) or _is_temporary(stale.name):
            stale.unlink(missing_ok=True)
    return path


def read_checkpoint(directory: str | Path) -> dict[str, Any]:
    """Read a checkpoint saved by `save_checkpoint`; a missing, damaged or old-format one is a `CheckpointError`."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        if (directory / LEGACY).is_file():
            raise CheckpointError(
                f"{directory / LEGACY}: written by an older deepfit in a pickle-based format, which this version "
                "does not load (loading it could run code); the run cannot be resumed: start it again without --resume"
            )
        raise CheckpointError(f"{path}: no checkpoint found (was the run started with checkpointing?)")
    manifest = _manifest(path)
    tensor_path = directory / manifest["tensors"]
    try:
        blob = tensor_path.read_bytes()
    except OSError as exc:
        raise _damaged(path, f"cannot read {tensor_path.name}: {exc.strerror or exc}") from None
    if hashlib.sha256(blob).hexdigest() != manifest["sha256"]:
        raise _damaged(path, f"{tensor_path.name} does not match the SHA-256 in {MANIFEST}")
    try:
        state = join_tensors(manifest["state"], load_safetensors(blob))
    except (SafetensorError, ValueError) as exc:
        raise _damaged(path, str(exc)) from None
    missing = set(REQUIRED) - set(state if isinstance(state, dict) else ())
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {sorted(missing)}; it was not written by deepfit")
    return state


def checkpoint_epoch(directory: str | Path) -> int | None:
    """The epoch the checkpoint in `directory` was written after, or None when there is no readable one
    (for messages: it reads `state.json` only)."""
    try:
        epoch = json.loads((Path(directory) / MANIFEST).read_text(encoding="utf-8")).get("epoch")
    except (OSError, ValueError, AttributeError):
        return None
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else None


def _manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise _damaged(path, f"{type(exc).__name__}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FILE_FORMAT:
        raise _damaged(path, f"not a deepfit checkpoint manifest (format {FILE_FORMAT!r} expected)")
    if manifest.get("version") != FILE_VERSION:
        raise CheckpointError(f"{path}: checkpoint version {manifest.get('version')!r}, this deepfit reads "
                              f"{FILE_VERSION}; start the run again without --resume")
    name, digest = manifest.get("tensors"), manifest.get("sha256")
    if not (isinstance(name, str) and _TENSOR_FILE.fullmatch(name) and isinstance(digest, str)):
        raise _damaged(path, "the manifest does not name a tensor file and its SHA-256")
    return manifest


def _damaged(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"{path}: damaged checkpoint ({why}); start the run again without --resume")


def _is_temporary(name: str) -> bool:
    """A temporary file of `deepfit.atomic` left by a writer killed mid-write (`.NAME.PID.HEX.tmp`)."""
    return name.startswith((f".{MANIFEST}.", ".tensors-")) and name.endswith(".tmp")
