"""A run's name from what it trains, when neither the user nor the config file named it: a run of your own
network is named after its factory (`my_nets.py:build` -> `my_nets`, `nets.py:resnet` -> `resnet`), a transfer
run after its source (`transfer-model_a`), never after a preset whose network was not the one trained."""

from __future__ import annotations

from pathlib import Path

from deepfit.config import RunConfig
from deepfit.nn.factory import is_file_reference, parse_reference

DEFAULT_NAME: str = RunConfig.model_fields["name"].default  # "run": nobody chose a name


def trained_name(cfg: RunConfig) -> str | None:
    """The name of what `cfg` trains: `transfer-<source>` for a [transfer] run, the factory's function (or its
    file's or module's name when the function is called `build`) for a `model.factory`; None for the dense net."""
    if cfg.transfer is not None:
        return f"transfer-{Path(cfg.transfer.source).name or cfg.transfer.source}"
    if cfg.model.factory is None:
        return None
    where, function = parse_reference(cfg.model.factory)
    if function != "build":
        return function
    return Path(where).stem if is_file_reference(cfg.model.factory) else where.rsplit(".", 1)[-1]


def named_run(cfg: RunConfig, preset_name: str | None = None) -> RunConfig:
    """`cfg` named by `trained_name` when its name is the default or that of the preset it started from
    (`preset_name`), and it trains something other than the preset's dense network."""
    derived = trained_name(cfg)
    if derived is None or cfg.name not in (DEFAULT_NAME, preset_name):
        return cfg
    return cfg.model_copy(update={"name": derived})
