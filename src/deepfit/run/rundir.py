"""Run directories: `<out>/<name>-<time>/`, created up front so a failure to write shows before training."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from deepfit.atomic import write_text_atomic
from deepfit.errors import CheckpointError, OutputError


def create_run_dir(out: str | Path, name: str) -> Path:
    """Make a new, empty `<out>/<name>-<YYYYmmdd-HHMMSS>[-k]` directory; unwritable `out` is an `OutputError`."""
    out = Path(out)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for k in range(1000):
            path = out / (f"{name}-{stamp}" + (f"-{k}" if k else ""))
            try:
                path.mkdir()
                break
            except FileExistsError:
                continue
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise OutputError(
            f"cannot write the run directory under {str(out)!r}: {exc.strerror or exc}; choose another with --out"
        ) from None
    return path


def existing_run_dir(path: str | Path) -> Path:
    """A run directory given on the command line; it must hold `config.toml`."""
    path = Path(path)
    if not (path / "config.toml").is_file():
        raise CheckpointError(f"{str(path)!r} is not a deepfit run directory (no config.toml in it)")
    return path


def write_json(path: str | Path, data: dict[str, Any]) -> Path:
    """Write `data` as strict JSON: a NaN or infinite number (a diverged run's loss) becomes null."""
    return write_text_atomic(path, json.dumps(_finite(data), indent=2, sort_keys=False, allow_nan=False) + "\n")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
