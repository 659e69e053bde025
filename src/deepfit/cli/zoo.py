"""`deepfit zoo list|add|show|remove`: the local catalogue of models by name (docs/zoo.md)."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from deepfit.errors import ConfigError

console = Console()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("zoo", help="a local catalogue of runs, imported models and architectures, by name",
                       description="The catalogue is $DEEPFIT_ZOO/zoo.json, or ~/.cache/deepfit/zoo/zoo.json. "
                       "`deepfit transfer --from NAME` takes a registered run's name.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="every registered model").set_defaults(func=cmd_list)
    add = actions.add_parser("add", help="register a run directory, or an architecture with a weights file")
    add.add_argument("name")
    add.add_argument("run_dir", nargs="?", help="a run, pretrain or import-keras directory")
    add.add_argument("--torchvision", metavar="ARCH", help="a torchvision architecture, e.g. resnet18")
    add.add_argument("--timm", metavar="ARCH", help="a timm architecture")
    add.add_argument("--factory", metavar="MODULE:FUNCTION", help="a function of yours that returns the module")
    add.add_argument("--weights", metavar="FILE.safetensors", help="the architecture's weights (no download)")
    add.add_argument("--replace", action="store_true", help="replace an entry of the same name")
    add.set_defaults(func=cmd_add)
    show = actions.add_parser("show", help="one entry, in full")
    show.add_argument("name")
    show.set_defaults(func=cmd_show)
    remove = actions.add_parser("remove", help="unregister a name (its files stay)")
    remove.add_argument("name")
    remove.set_defaults(func=cmd_remove)


def cmd_list(args: argparse.Namespace) -> int:
    """The catalogue as a table laid out for the terminal's width; where the paths do not fit, each is
    printed whole under it."""
    from deepfit.report.tables import compact, fitting
    from deepfit.run import zoo

    models = zoo.read_zoo()
    if not models:
        console.print(f"the zoo is empty ({zoo.zoo_dir() / 'zoo.json'}); add one with `deepfit zoo add NAME RUN_DIR`",
                      highlight=False, soft_wrap=True)
        return 0
    console.print(f"zoo: {zoo.zoo_dir() / 'zoo.json'}", highlight=False, soft_wrap=True)
    rows = [_row(name, e, zoo.entry_task(e)) for name, e in sorted(models.items())]
    table = fitting((_table(rows, where=True), compact(_table(rows, where=True)), compact(_table(rows, where=False))),
                    console.width)
    console.print(table)
    if len(table.columns) < len(rows[0]):  # too narrow for the paths: each on a line of its own, never cut
        for row in rows:
            console.print(f"{row['name']}: {row['where']}", highlight=False, markup=False, soft_wrap=True)
    return 0


def _row(name: str, e: dict, task: str | None) -> dict[str, str]:
    acc = f"{e['accuracy']:.4f}" if isinstance(e.get("accuracy"), float) else "-"
    shape = "x".join(map(str, e["input_shape"])) if e.get("input_shape") else "-"
    where = e["path"] if e["kind"] == "run" else f"{e['source']} {e['architecture']}"
    return {"name": name, "kind": e["kind"], "task": task or "-", "data": e.get("data") or "-", "test acc": acc,
            "input shape": shape, "where": where}


def _table(rows: list[dict[str, str]], *, where: bool) -> Table:
    table = Table()
    columns = [c for c in rows[0] if where or c != "where"]
    for column in columns:
        table.add_column(column, no_wrap=True, justify="right" if column == "test acc" else "left")
    for row in rows:
        table.add_row(*(Text(row[c]) for c in columns))
    return table


def cmd_add(args: argparse.Namespace) -> int:
    from deepfit.run import zoo

    sources = {k: v for k, v in (("torchvision", args.torchvision), ("timm", args.timm), ("factory", args.factory))
               if v}
    if bool(args.run_dir) + len(sources) != 1:
        raise ConfigError("zoo add: give a RUN_DIR, or one of --torchvision, --timm, --factory with --weights")
    if sources:
        if not args.weights:
            raise ConfigError("zoo add: an architecture needs --weights FILE.safetensors (nothing is downloaded)")
        (source, architecture), = sources.items()
        entry = zoo.add_architecture(args.name, source, architecture, args.weights, replace=args.replace)
    else:
        entry = zoo.add_run(args.name, args.run_dir, replace=args.replace)
    console.print(f"added {args.name!r} to {zoo.zoo_dir() / 'zoo.json'}: {json.dumps(entry)}", highlight=False,
                  soft_wrap=True)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from deepfit.run import zoo

    console.print_json(json.dumps({"name": args.name, **zoo.lookup(args.name)}))
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from deepfit.run import zoo

    zoo.remove(args.name)
    console.print(f"removed {args.name!r} from {zoo.zoo_dir() / 'zoo.json'}", highlight=False, soft_wrap=True)
    return 0
