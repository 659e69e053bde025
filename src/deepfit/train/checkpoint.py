"""Resumable checkpoints: one file written atomically, loaded without executing pickled code."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from deepfit.atomic import atomic_path
from deepfit.errors import CheckpointError

FILENAME = "state.pt"
FORMAT = 2  # 2: the engine's flat tensors (train/flat.py); 1 was a model and a torch.optim state_dict
REQUIRED = ("format", "group", "epoch", "step", "rng", "members")


def save_checkpoint(state: dict[str, Any], directory: str | Path) -> Path:
    """Write a trainer's `state_dict()` to `directory/state.pt` through a temporary file and a rename."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FILENAME
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def read_checkpoint(directory: str | Path) -> dict[str, Any]:
    """Read a checkpoint saved by `save_checkpoint`; a missing or damaged file is a `CheckpointError`."""
    path = Path(directory) / FILENAME
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint found (was the run started with checkpointing?)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: damaged checkpoint ({type(exc).__name__}: {exc}); start the run again without --resume"
        ) from None
    missing = set(REQUIRED) - set(state if isinstance(state, dict) else ())
    if missing == {"format", "group", "members"}:
        raise CheckpointError(f"{path}: written by an older deepfit (format 1); start the run again without --resume")
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {sorted(missing)}; it was not written by deepfit")
    return state
