"""Atomic file writes: a temporary file in the same directory, then a rename, so no reader sees half a file."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

from deepfit.errors import OutputError

_TEMPORARY = re.compile(r"\..+\.(\d+)\.[0-9a-f]{8}\.tmp")  # the name atomic_path gives: .NAME.PID.HEX.tmp


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block succeeds, move it onto `path` in one step.

    Parent directories are created, and the file gets the umask's permissions, as any file the user creates,
    even when the block's writer recreated it with others. The temporary file lives in the same directory so that
    `os.replace` is a rename on one file system, and it is removed if the block raises.

    Raises:
        OutputError: the directory cannot be created or the file cannot be written.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        # os.open with 0o666 honours the umask, so the result has the permissions of a plain open();
        # tempfile would leave it 0o600.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        mode = os.stat(tmp).st_mode & 0o777  # the umask's permissions, which the finished file keeps
    except OSError as err:
        raise OutputError(f"cannot write {target}: {err.strerror or err}") from err
    try:
        yield tmp
        if os.stat(tmp).st_mode & 0o777 != mode:  # a writer that recreates the file (safetensors: 0o600)
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {target}: {err.strerror or err}") from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` as UTF-8 to `path` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files `atomic_path` left under `directory` (its writer was killed mid-write);
    returns them. A file whose writing process still runs is kept."""
    removed = []
    for path in sorted(Path(directory).rglob("*.tmp")):
        match = _TEMPORARY.fullmatch(path.name)
        if match and path.is_file() and not _running(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process (or no such pid at all)
        return False
    except OSError:
        return True  # another user's process: leave its file alone
    return True
