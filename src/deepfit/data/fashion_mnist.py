"""Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): where to find it, how to fetch it, and its dataset entry.

Resolution order: an explicit directory, then $DEEPFIT_DATA, the Debian package's folder, the user cache,
and last a verified download into the cache. An explicit folder that lacks files is an error, never a
reason to look elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from deepfit.data.download import download_file
from deepfit.data.sources import (
    DATASETS,
    IDX_NAMES,
    RawDataset,
    find_idx_files,
    missing_idx_files,
    read_idx_dir,
)
from deepfit.errors import DataError

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
FASHION_MNIST_VALID = 5000  # Géron (ch. 10): X_valid = X_train_full[:5000]; the automatic data.valid here
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian/Ubuntu package dataset-fashion-mnist
ENV_VAR = "DEEPFIT_DATA"

# SHA-256 of the files the official URL serves, as recorded by tensorflow/datasets
# (url_checksums/fashion_mnist.txt); their MD5s are the ones in the zalandoresearch/fashion-mnist README.
# Debian's copies hold the same deflate streams under a rewritten 10-byte gzip header (no file name,
# mtime 2020-06-05), so their file hashes differ; local copies are checked by `read_idx`, not by hash.
FASHION_MNIST_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
_FILES = {role: f"{names[0]}.gz" for role, names in IDX_NAMES.items()}  # role -> name in the download


@dataclass(frozen=True)
class Location:
    """A folder where Fashion-MNIST may be, and the files it lacks.

    `source` is `data_dir`, `DEEPFIT_DATA`, `system` or `cache`. An `explicit` location was chosen by the
    user, so an incomplete one is an error rather than a reason to look further.
    """

    source: str
    path: Path
    missing: tuple[str, ...]
    explicit: bool

    @property
    def complete(self) -> bool:
        return not self.missing


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/deepfit/fashion-mnist`, or `~/.cache/deepfit/fashion-mnist` when it is unset."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "deepfit" / "fashion-mnist"


def locate_fashion_mnist(
    data_dir: str | Path | None = None,
    *,
    system_dir: str | Path = SYSTEM_DIR,
    cache_dir: str | Path | None = None,
) -> list[Location]:
    """Every folder searched for Fashion-MNIST, in resolution order, with the files each lacks.

    `data_dir` and `$DEEPFIT_DATA` appear only when given; the system folder and the cache always do.
    """
    candidates: list[tuple[str, Path, bool]] = []
    if data_dir is not None:
        candidates.append(("data_dir", Path(data_dir).expanduser(), True))
    if os.environ.get(ENV_VAR):
        candidates.append((ENV_VAR, Path(os.environ[ENV_VAR]).expanduser(), True))
    candidates.append(("system", Path(system_dir), False))
    candidates.append(("cache", Path(cache_dir) if cache_dir is not None else default_cache_dir(), False))
    return [
        Location(source, path, tuple(missing_idx_files(find_idx_files(path))), explicit)
        for source, path, explicit in candidates
    ]


def find_fashion_mnist(
    data_dir: str | Path | None = None,
    *,
    system_dir: str | Path = SYSTEM_DIR,
    cache_dir: str | Path | None = None,
    base_url: str = FASHION_MNIST_URL,
    sha256: Mapping[str, str] = FASHION_MNIST_SHA256,
    download: bool = True,
    timeout_s: float = 30.0,
    progress: bool = True,
) -> Path:
    """The folder holding the four Fashion-MNIST files, downloading them into the cache if needed.

    Args:
        sha256: expected SHA-256 of each downloaded file, by file name.
        download: fetch from `base_url` when no folder holds the data.
        timeout_s: seconds to wait for the connection and each read of a download.

    Raises:
        DataError: an explicit folder lacks files (the message names the folder and the files), or no
            folder holds the data and the download failed or was disabled (one message that says how to
            get the data and why the download failed).
    """
    locations = locate_fashion_mnist(data_dir, system_dir=system_dir, cache_dir=cache_dir)
    for location in locations:
        if location.explicit and not location.complete:
            origin = "data_dir / --data-dir" if location.source == "data_dir" else f"${ENV_VAR}"
            state = "does not exist" if not location.path.is_dir() else f"lacks {', '.join(location.missing)}"
            raise DataError(
                f"Fashion-MNIST folder {location.path} (from {origin}) {state}; it must hold {_file_list()}"
            )
        if location.complete:
            return location.path
    cache = locations[-1].path
    if not download:
        raise _not_found(locations, "downloading is disabled")
    present = find_idx_files(cache) if cache.is_dir() else {}
    try:
        for role, name in _FILES.items():
            if role not in present:
                url = base_url.rstrip("/") + "/" + name
                download_file(url, cache / name, sha256=sha256[name], timeout_s=timeout_s, progress=progress)
    except DataError as exc:
        raise _not_found(locations, str(exc)) from None
    except OSError as exc:  # the cache folder cannot be created or written
        raise _not_found(locations, f"cannot write to {cache}: {exc.strerror or exc}") from None
    return cache


@DATASETS.register(
    "fashion_mnist",
    summary="Zalando's 28x28 grayscale clothing images: 60,000 train, 10,000 test, 10 classes",
)
def fashion_mnist(dir: str | Path | None = None, **find_options) -> RawDataset:
    """Fashion-MNIST as uint8 images (n, 28, 28) and uint8 labels 0-9, found by `find_fashion_mnist`."""
    raw = read_idx_dir(find_fashion_mnist(dir, **find_options), require_test=True)
    return raw._replace(class_names=list(FASHION_MNIST_CLASSES), valid=FASHION_MNIST_VALID)


def _file_list() -> str:
    return ", ".join(_FILES.values()) + " (or the same names without .gz)"


def _not_found(locations: list[Location], reason: str) -> DataError:
    searched = ", ".join(f"{loc.path} ({loc.source})" for loc in locations)
    return DataError(
        f"Fashion-MNIST not found in {searched}, and {reason}. "
        f"Install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or pass --data-dir DIR "
        f"or set {ENV_VAR}=DIR to a folder holding {_file_list()}"
    )
