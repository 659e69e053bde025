"""Run directories: `<out>/<name>-<time>/`, created up front so a failure to write shows before training."""

from __future__ import annotations

import json
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from deepfit.atomic import write_text_atomic
from deepfit.errors import CheckpointError, OutputError

_TRIES = 1000  # suffixes tried for runs started in the same second with the same name


def create_run_dir(out: str | Path, name: str) -> Path:
    """Make a new, empty `<out>/<name>-<YYYYmmdd-HHMMSS>[-k]` directory; unwritable `out` is an `OutputError`.

    `mkdir` either creates the directory or fails because it exists, in one step, so runs started in the
    same second (in other processes too) each get their own directory: the first the plain name, the
    others the next free suffix `-1`, `-2`, ...
    """
    out = Path(out)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        out.mkdir(parents=True, exist_ok=True)
        path = _new_dir(out, f"{name}-{stamp}")
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise OutputError(
            f"cannot write the run directory under {str(out)!r}: {exc.strerror or exc}; choose another with --out"
        ) from None
    return path


def _new_dir(out: Path, base: str) -> Path:
    """Create `out/base`, or `out/base-1`, `out/base-2`, ... when taken, and return it."""
    for k in range(_TRIES):
        path = out / (f"{base}-{k}" if k else base)
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise OutputError(f"{out}: run directories {base} to {base}-{_TRIES - 1} exist already; choose another --name")


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run that writes a directory; the message says how to continue it, or why it cannot be.

    A `KeyboardInterrupt`, so whatever catches Ctrl-C still does; `deepfit train` prints the message.
    `epoch` is that of the last checkpoint (None: none yet); `cannot_resume` says why the run cannot go on;
    `removed`: the run directory, which held no checkpoint (Ctrl-C while the step compiled), was removed.
    """

    def __init__(self, run_dir: Path, epoch: int | None, *, cannot_resume: str = "", removed: bool = False) -> None:
        self.run_dir, self.epoch = run_dir, epoch
        if removed:
            message = (f"interrupted before the first checkpoint, so {run_dir} held nothing to resume and was "
                       f"removed. Start again with:\n  {command_line()}")
        elif cannot_resume:
            message = f"interrupted; {run_dir} cannot be resumed: {cannot_resume}"
        elif epoch is None:
            message = f"interrupted before the first checkpoint; {run_dir} holds nothing to resume"
        else:
            message = (f"interrupted; the checkpoint after epoch {epoch} is in {run_dir}. Continue with:\n"
                       f"  {resume_command(run_dir)}")
        super().__init__(message)


def resume_command(run_dir: str | Path) -> str:
    """The command that continues `run_dir`, quoted for a POSIX shell."""
    return f"deepfit train --resume {shlex.quote(str(run_dir))}"


def command_line() -> str:
    """The command that is running, as a user would type it (`deepfit train ...` from the CLI), quoted for a
    POSIX shell."""
    name = Path(sys.argv[0]).name if sys.argv else "python"
    if name.startswith("ipykernel"):  # a notebook: the kernel's own arguments say nothing a user typed
        return "Python in a Jupyter notebook"
    return " ".join(["deepfit" if name in ("deepfit", "__main__.py") else name, *map(shlex.quote, sys.argv[1:])])


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
