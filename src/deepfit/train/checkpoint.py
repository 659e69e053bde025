"""Resumable checkpoints: one file written atomically, loaded without executing pickled code."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from deepfit.atomic import atomic_path
from deepfit.errors import CheckpointError

if TYPE_CHECKING:
    from deepfit.train.trainer import Trainer

FILENAME = "state.pt"


def save_checkpoint(trainer: Trainer, directory: str | Path) -> Path:
    """Write the trainer's full state to `directory/state.pt` through a temporary file and a rename."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FILENAME
    with atomic_path(path) as tmp:
        torch.save(trainer.state_dict(), tmp)
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
    missing = {"model", "optimizer", "epoch", "step", "rng"} - set(state if isinstance(state, dict) else ())
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {sorted(missing)}; it was not written by deepfit")
    return state
