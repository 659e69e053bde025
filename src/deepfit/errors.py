"""Errors a user can cause, each with a message that names the thing, what was expected and what was found.

Internal bugs still raise the ordinary Python exceptions; the CLI prints a `DeepfitError` in one or two
lines and exits with status 2.
"""

from __future__ import annotations


class DeepfitError(Exception):
    """Base class of every error a user can cause and fix."""


class ConfigError(DeepfitError, ValueError):
    """A configuration value, name or file is invalid."""


class DataError(DeepfitError):
    """A dataset is missing, unreadable, corrupted or inconsistent."""


class ShapeError(DeepfitError):
    """Data and model shapes do not fit together."""


class CheckpointError(DeepfitError):
    """A run directory or checkpoint is missing, damaged or incompatible."""


class DeviceError(DeepfitError):
    """The requested device is not available."""


class OutputError(DeepfitError):
    """An output location cannot be written."""


class MissingDependencyError(DeepfitError):
    """An optional package a command needs is not installed."""
