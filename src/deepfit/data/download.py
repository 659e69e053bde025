"""Download one file over HTTP(S), verify its SHA-256 and only then move it into place.

The file is written to a temporary name in the destination folder and renamed with `os.replace`, so an
interrupted or corrupted download never leaves a file under the final name.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from deepfit.errors import DataError

_CHUNK_BYTES = 1 << 20


def download_file(url: str, dest: str | Path, *, sha256: str, timeout_s: float = 30.0, progress: bool = True) -> Path:
    """Fetch `url` into `dest` after checking that its SHA-256 equals `sha256`; returns `dest`.

    Args:
        timeout_s: seconds to wait for the connection and for each read.
        progress: show a rich progress bar on stderr.

    Raises:
        DataError: the request failed (the message carries the reason) or the checksum differs (the
            message names the file and both hashes; nothing is left in `dest.parent`).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _fetch(url, out, timeout_s=timeout_s, progress=progress, label=dest.name)
            out.flush()
            os.fsync(out.fileno())
        if digest != sha256.lower():
            raise DataError(
                f"{dest.name} downloaded from {url} has SHA-256 {digest}, expected {sha256.lower()}; "
                f"the file was not kept"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _fetch(url: str, out: BinaryIO, *, timeout_s: float, progress: bool, label: str) -> str:
    """Stream `url` into the open binary file `out`; returns the hex SHA-256 of what was written."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            total = response.headers.get("Content-Length")
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=Console(stderr=True),
                disable=not progress,
            ) as bar:
                task = bar.add_task(f"downloading {label}", total=int(total) if total else None)
                while chunk := response.read(_CHUNK_BYTES):
                    digest.update(chunk)
                    out.write(chunk)
                    bar.advance(task, len(chunk))
    except urllib.error.HTTPError as exc:
        raise DataError(f"downloading {url} failed: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DataError(f"downloading {url} failed: {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, short reads
        raise DataError(f"downloading {url} failed: {type(exc).__name__}: {exc}") from None
    return digest.hexdigest()
