"""`deepfit import-keras`: a Keras Sequential file as a deepfit run directory, without TensorFlow.

The directory holds what a trained run's does for reuse: `config.toml` (the architecture as a `[model]`
section, inputs not standardised, as a Keras model takes them), `model.json` + `model.safetensors`
(the converted weights); `deepfit predict`, `evaluate`, `export`, `transfer --from` and the zoo read it.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from deepfit.atomic import write_text_atomic
from deepfit.config import config_from_dict, to_toml
from deepfit.nn import ModelSpec, save_model
from deepfit.nn.keras import Converted, load_keras
from deepfit.run.rundir import create_run_dir

_TASKS = {"cross_entropy": "multiclass", "binary_cross_entropy": "binary", "mse": "regression"}
_MODEL_KEYS = ("hidden", "activation", "init", "norm", "dropout", "input_dropout", "dropout_kind", "input_norm",
               "norm_momentum", "norm_eps")


def import_keras(path: str | Path, *, out: str | Path = "runs", name: str | None = None) -> tuple[Path, Converted]:
    """Convert the Keras file at `path` and write it as a new run directory under `out`; returns both.

    Raises:
        CheckpointError: the file cannot be read or holds layers deepfit cannot express (named).
        MissingDependencyError: h5py is not installed.
    """
    path = Path(path)
    model, converted = load_keras(path)
    cfg = config_from_dict(
        {"name": name or path.stem, "out": str(out),
         "data": {"standardize": False, "task": _TASKS[converted.loss]},
         "model": model_section(converted.spec)},
        source=f"import-keras {path}",
    )
    run_dir = create_run_dir(cfg.out, cfg.name)
    write_text_atomic(run_dir / "config.toml", to_toml(cfg))
    imported = {"format": converted.format, "file": str(path.resolve()), "keras_version": converted.keras_version,
                "layers": converted.layer_map}
    save_model(model, converted.spec, run_dir,
               extra={"task": converted.loss, "class_names": None, "standardized": False, "imported": imported})
    return run_dir, converted


def model_section(spec: ModelSpec) -> dict[str, Any]:
    """The `[model]` settings that rebuild `spec` from data of its input shape (unset ones left out)."""
    d = asdict(spec)
    return {k: d[k] for k in _MODEL_KEYS if d[k] is not None}
