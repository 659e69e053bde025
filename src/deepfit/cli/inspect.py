"""`deepfit info` (data, device, versions) and `deepfit list` (every registry with its summaries)."""

from __future__ import annotations

import argparse
import platform

import torch
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from deepfit import __version__
from deepfit.config import TrainConfig
from deepfit.data import DATASETS, locate_fashion_mnist
from deepfit.diagnose import RULES
from deepfit.errors import ConfigError
from deepfit.nn import ACTIVATIONS, DROPOUTS, INITIALIZERS
from deepfit.nn.keras import KERAS_LAYERS
from deepfit.optim import CLIPPERS, OPTIMIZERS, PENALTIES, SCHEDULES
from deepfit.presets import PRESETS
from deepfit.pretrain import PRETRAINERS
from deepfit.registry import Registry
from deepfit.run.export import EXPORT_FORMATS
from deepfit.run.threads import thread_choice
from deepfit.run.zoo import ARCHITECTURES
from deepfit.studies import STUDIES
from deepfit.train import LOSSES

console = Console()

FAMILIES: dict[str, Registry] = {
    "initializers": INITIALIZERS,
    "activations": ACTIVATIONS,
    "optimizers": OPTIMIZERS,
    "schedules": SCHEDULES,
    "clipping": CLIPPERS,
    "penalties": PENALTIES,
    "dropouts": DROPOUTS,
    "losses": LOSSES,
    "datasets": DATASETS,
    "studies": STUDIES,
    "pretrainers": PRETRAINERS,
    "presets": PRESETS,
    "rules": RULES,
    "exports": EXPORT_FORMATS,
    "keras_layers": KERAS_LAYERS,
    "zoo_sources": ARCHITECTURES,
}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="data locations, device and versions")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("list", help="names in a registry (initializers, optimizers, ...), with summaries")
    p.add_argument("family", nargs="?", help=", ".join(FAMILIES))
    p.set_defaults(func=cmd_list)


def cmd_info(args: argparse.Namespace) -> int:
    table = Table(show_header=False, box=None)
    table.add_row("deepfit", __version__)
    table.add_row("torch", torch.__version__)
    table.add_row("python", platform.python_version())
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available"
    table.add_row("cuda", cuda)
    table.add_row("cpu threads", thread_choice(TrainConfig().threads).describe())
    for loc in locate_fashion_mnist():
        state = "found" if loc.complete else f"missing {', '.join(loc.missing)}"
        table.add_row(f"fashion-mnist ({loc.source})", f"{loc.path}  [{state}]")
    console.print(table)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    if args.family is None:
        for name, reg in FAMILIES.items():
            console.print(f"[bold]{name}[/bold]: {', '.join(reg.names())}")
        return 0
    family = args.family.lower()
    if family not in FAMILIES:
        raise ConfigError(f"unknown family {args.family!r}; valid: {', '.join(FAMILIES)}")
    table = Table(title=family)
    table.add_column("name")
    table.add_column("aliases")
    table.add_column("summary")
    for entry in FAMILIES[family].entries():
        table.add_row(entry.name, ", ".join(entry.aliases), escape(entry.summary))  # "[i]" is text, not markup
    console.print(table)
    return 0
