"""A folder of images in class sub-folders (torchvision's `ImageFolder` layout, root/class_name/*.png), read with
Pillow into uint8 arrays of one shape (channels, height, width); class names are the folder names, sorted."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepfit.data.sources import DATASETS, RawDataset
from deepfit.errors import ConfigError, DataError, MissingDependencyError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")  # as ImageFolder
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")  # Pillow modes without colour


@DATASETS.register("images", summary="a folder of images in class sub-folders (root/class/*.png), resized to one shape")
def images(
    dir: str | Path | None = None, image_size: Sequence[int] | None = None, channels: int | None = None,
    test_dir: str | Path | None = None,
) -> RawDataset:
    """Images of `dir`/<class>/ as (n, channels, height, width) uint8, labels by sorted class folder name.

    Args:
        image_size: (height, width) every image is resized to (bilinear); default: the images' own size,
            which must then be the same for all.
        channels: 1 (grayscale) or 3 (RGB); default 3 when any image has colour, else 1.
        test_dir: a second folder in the same layout, read with the training folder's classes, size and channels.

    Unreadable image files are skipped with a warning.

    Raises:
        DataError: no class folders or only one, a class folder without a readable image, an image whose pixels
            cannot be decoded, or mixed sizes without `image_size`.
    """
    if dir is None:
        raise ConfigError("dataset 'images' needs a folder of class sub-folders: pass dir=... (--data DIR)")
    pil = _pillow()
    root = Path(dir).expanduser()
    files, classes = _listing(root)
    if len(classes) < 2:
        raise DataError(f"{root}: one class folder ({classes[0]}/), expected at least 2 class sub-folders "
                        f"({root}/<class name>/*.png): a classifier of one class learns nothing")
    files = _readable(pil, files, root, classes)
    size, channels = _shape(pil, files, image_size, channels)
    x, y = _read(pil, files, size, channels), np.array([label for _, label in files], dtype=np.int64)
    x_test = y_test = None
    if test_dir is not None:
        test_root = Path(test_dir).expanduser()
        test_files, test_classes = _listing(test_root)
        test_files = _readable(pil, test_files, test_root, test_classes)
        unknown = sorted(set(test_classes) - set(classes))
        if unknown:
            raise DataError(f"{test_dir}: class folders {unknown} are not among the training classes {classes}")
        test_files = [(f, classes.index(test_classes[label])) for f, label in test_files]
        x_test = _read(pil, test_files, size, channels)
        y_test = np.array([label for _, label in test_files], dtype=np.int64)
    return RawDataset(x, y, x_test, y_test, classes)


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise MissingDependencyError("reading image folders needs Pillow: pip install 'deepfit[images]'") from None
    return Image


def _listing(root: Path) -> tuple[list[tuple[Path, int]], list[str]]:
    """(image file, label) for every image under root/<class>/, and the sorted class names."""
    if not root.is_dir():
        raise DataError(f"image folder {root} not found")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"{root}: no class sub-folders; expected images in {root}/<class name>/*.png (or .jpg, ...)")
    files = []
    for label, name in enumerate(classes):
        found = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not found:
            raise DataError(f"{root / name}: no images in this class folder; expected files ending in "
                            f"{', '.join(IMAGE_SUFFIXES)}")
        files += [(p, label) for p in found]
    return files, classes


def _readable(pil: Any, files: list[tuple[Path, int]], root: Path, classes: list[str]) -> list[tuple[Path, int]]:
    """The `files` Pillow can open (their headers only); the others are skipped with one warning, and a class
    folder left without a readable image is an error naming it and its first unreadable file."""
    kept, skipped, reasons = [], [], {}
    for path, label in files:
        try:
            _open(pil, path).close()
        except DataError as exc:
            skipped.append(path)
            reasons.setdefault(label, f"{path.name}: {str(exc).removeprefix(f'{path}: ')}")
            continue
        kept.append((path, label))
    found = {label for _, label in kept}
    for label, reason in reasons.items():
        if label not in found:
            raise DataError(f"{root / classes[label]}: no readable image in this class folder (e.g. {reason}); "
                            "expected image files Pillow can read")
    if skipped:
        warnings.warn(f"{root}: skipped {len(skipped)} unreadable image(s), e.g. {skipped[0]}", UserWarning,
                      stacklevel=3)
    return kept


def _shape(pil: Any, files: list[tuple[Path, int]], image_size: Sequence[int] | None,
           channels: int | None) -> tuple[tuple[int, int], int]:
    """((height, width), channels) of the arrays: as asked, else read from the image headers."""
    if channels is not None and channels not in (1, 3):
        raise ConfigError(f"data.channels: expected 1 (grayscale) or 3 (RGB), got {channels}")
    if image_size is not None:
        if len(image_size) != 2 or any(int(s) < 1 for s in image_size):
            raise ConfigError(f"data.image_size: expected [height, width], two sizes >= 1, got {list(image_size)}")
        size: tuple[int, int] | None = (int(image_size[0]), int(image_size[1]))
    else:
        size = None
    if size is not None and channels is not None:
        return size, channels
    first: tuple[Path, tuple[int, int]] | None = None
    colour = False
    for path, _ in files:
        with _open(pil, path) as image:  # the header only: Pillow decodes the pixels on first access
            hw, colour = (image.height, image.width), colour or image.mode not in _GRAY_MODES
        if first is None:
            first = (path, hw)
        elif size is None and hw != first[1]:
            raise DataError(f"{path}: {hw[0]}x{hw[1]} pixels, but {first[0]} has {first[1][0]}x{first[1][1]}; "
                            "images of mixed sizes need data.image_size = [height, width] to resize them to")
    return size or first[1], channels or (3 if colour else 1)


def _read(pil: Any, files: list[tuple[Path, int]], size: tuple[int, int], channels: int) -> np.ndarray:
    x = np.empty((len(files), channels, *size), dtype=np.uint8)  # (n, channels, height, width)
    mode = "L" if channels == 1 else "RGB"
    for i, (path, _) in enumerate(files):
        with _open(pil, path) as image:
            try:
                converted = image.convert(mode)
                if (converted.height, converted.width) != size:
                    converted = converted.resize((size[1], size[0]), pil.Resampling.BILINEAR)
                pixels = np.asarray(converted, dtype=np.uint8)  # (height, width[, 3])
            except OSError as exc:  # a truncated or corrupt file fails when its pixels are decoded
                raise DataError(f"{path}: not a readable image ({exc})") from None
        x[i] = pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
    return x


def _open(pil: Any, file: Path) -> Any:
    try:
        return pil.open(file)  # read-only: Pillow's open takes no write mode
    except (OSError, ValueError) as exc:  # UnidentifiedImageError is an OSError
        raise DataError(f"{file}: not a readable image ({exc})") from None
