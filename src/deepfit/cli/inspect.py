"""`deepfit info` (data, device, versions) and `deepfit list` (every registry with its summaries)."""

from __future__ import annotations

import argparse
import importlib
import platform
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from rich.table import Table

    from deepfit.data.fashion_mnist import Location
    from deepfit.registry import Registry

console = Console()

# family -> (module, registry): imported by `deepfit list` only, so that parsing the command line stays instant
FAMILIES: dict[str, tuple[str, str]] = {
    "initializers": ("deepfit.nn", "INITIALIZERS"),
    "activations": ("deepfit.nn", "ACTIVATIONS"),
    "optimizers": ("deepfit.optim", "OPTIMIZERS"),
    "schedules": ("deepfit.optim", "SCHEDULES"),
    "clipping": ("deepfit.optim", "CLIPPERS"),
    "penalties": ("deepfit.optim", "PENALTIES"),
    "dropouts": ("deepfit.nn", "DROPOUTS"),
    "losses": ("deepfit.train", "LOSSES"),
    "callbacks": ("deepfit.train", "CALLBACKS"),
    "datasets": ("deepfit.data", "DATASETS"),
    "studies": ("deepfit.studies", "STUDIES"),
    "pretrainers": ("deepfit.pretrain", "PRETRAINERS"),
    "presets": ("deepfit.presets", "PRESETS"),
    "rules": ("deepfit.diagnose", "RULES"),
    "exports": ("deepfit.run.export", "EXPORT_FORMATS"),
    "keras_layers": ("deepfit.nn.keras", "KERAS_LAYERS"),
    "zoo_sources": ("deepfit.run.zoo", "ARCHITECTURES"),
}


def family_registry(family: str) -> Registry:
    """The registry `deepfit list FAMILY` shows."""
    module, name = FAMILIES[family]
    return getattr(importlib.import_module(module), name)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="data locations, device and versions")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("list", help="names in a registry (initializers, optimizers, ...), with summaries")
    p.add_argument("family", nargs="?", help=", ".join(FAMILIES))
    p.set_defaults(func=cmd_list)


def cmd_info(args: argparse.Namespace) -> int:
    import torch
    from rich.table import Table

    from deepfit import __version__
    from deepfit.config import TrainConfig
    from deepfit.data import locate_fashion_mnist
    from deepfit.run.threads import thread_choice

    table = Table(show_header=False, box=None)
    table.add_row("deepfit", __version__)
    table.add_row("torch", torch.__version__)
    table.add_row("python", platform.python_version())
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available"
    table.add_row("cuda", cuda)
    table.add_row("cpu threads", thread_choice(TrainConfig().threads).describe())
    locations = locate_fashion_mnist()
    used = used_location(locations)
    for loc in locations:
        table.add_row(f"fashion-mnist ({loc.source})", str(loc.path))
        table.add_row("", location_state(loc, used))
    console.print(table, highlight=False, markup=False)
    return 0


def used_location(locations: list[Location]) -> Location | None:
    """The folder loading reads (the first complete one), or None: none is complete, or a folder the user named
    comes first and is incomplete, which is an error."""
    for loc in locations:
        if loc.complete:
            return loc
        if loc.explicit:
            return None
    return None


def location_state(loc: Location, used: Location | None) -> str:
    """What a Fashion-MNIST folder means for the next run: the one used, one not needed, where a download goes,
    or (for a folder the user named, or a partial copy) what it lacks."""
    if loc is used:
        return "found: deepfit reads Fashion-MNIST from here"
    if loc.complete:
        return (f"found, not used: the {used.source} copy comes first" if used is not None
                else "found, not used: the folder named before it is incomplete")
    lacks = f"lacks {', '.join(loc.missing)}"
    if loc.explicit:
        return f"incomplete, so loading fails: {lacks}"
    from deepfit.data.sources import IDX_NAMES

    if len(loc.missing) < len(IDX_NAMES):
        return f"incomplete ({lacks}), skipped"
    if used is not None:
        return f"empty, not needed: the {used.source} copy is used"
    return "empty: the first run downloads Fashion-MNIST here" if loc.source == "cache" else "empty"


def cmd_list(args: argparse.Namespace) -> int:
    from deepfit.errors import ConfigError
    from deepfit.report.tables import compact, fitting

    if args.family is None:
        for name in FAMILIES:
            console.print(f"[bold]{name}[/bold]: {', '.join(family_registry(name).names())}")
        return 0
    family = args.family.lower()
    if family not in FAMILIES:
        raise ConfigError(f"unknown family {args.family!r}; valid: {', '.join(FAMILIES)}")
    entries = list(family_registry(family).entries())
    console.print(fitting((_registry_table(family, entries, apart=True),
                           compact(_registry_table(family, entries, apart=False))), console.width))
    return 0


def _registry_table(family: str, entries: Sequence[Any], *, apart: bool) -> Table:
    """Name, aliases and summary; not `apart`, the aliases go under the name, in parentheses, so that the
    summary (prose, wrapped at words) gets the width. A name is never cut."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=family)
    table.add_column("name", no_wrap=True)
    if apart:
        table.add_column("aliases", no_wrap=True)
    table.add_column("summary")
    for entry in entries:
        aliases = ", ".join(entry.aliases)
        names = [entry.name, aliases] if apart else [entry.name + (f"\n({aliases})" if aliases else "")]
        table.add_row(*map(escape, names), escape(entry.summary))  # "[i]" is text, not markup
    return table
