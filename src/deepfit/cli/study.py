"""`deepfit study NAME`: run a registered study over seeds and write its table, verdicts and plots;
`deepfit study all` runs every study into one directory with an index; `deepfit study docs` regenerates
docs/studies.md from study directories."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from deepfit.atomic import write_text_atomic
from deepfit.cli.options import add_run_options, config_from_args, data_overrides
from deepfit.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Group

    from deepfit.studies import StudyResult

console = Console()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("study", help="run a study (see `deepfit list studies`)")
    p.add_argument("study", metavar="NAME", help="a study (`deepfit list studies`), `all`, or `docs`")
    p.add_argument("dirs", nargs="*", metavar="DIR",
                   help="docs: the folders holding study directories (default docs/studies)")
    p.add_argument("--seeds", type=int, help="number of seeds per variant")
    p.add_argument("--full", action="store_true", help="the GPU-scale version (full data, more epochs)")
    p.add_argument("--variants", help="comma-separated subset of the study's variants")
    p.add_argument("--only", help="all: comma-separated studies to run (default: every study)")
    p.add_argument("--engine", choices=["grouped", "sequential"], default="grouped",
                   help="train compatible runs at once as members of one group (default), or one at a time")
    add_run_options(p, out_help="parent directory of study directories (default studies/); for `study docs`, the "
                    "folder studies.md is written into (default docs/)")
    p.set_defaults(func=cmd_study)


def cmd_study(args: argparse.Namespace) -> int:
    from deepfit.studies import STUDIES, run_study

    if args.study == "docs":
        return _docs(args)
    if args.dirs:
        raise ConfigError(f"study {args.study}: unexpected arguments {args.dirs}; only `study docs` takes folders")
    if args.seeds is not None and args.seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {args.seeds}")
    if args.study == "all":
        return _all(args)
    if args.only:
        raise ConfigError("--only goes with `deepfit study all`; for one study give its name")
    study = STUDIES.build(args.study)
    if args.variants:
        wanted = [v.strip() for v in args.variants.split(",")]
        unknown = [v for v in wanted if v not in study.variants]
        if unknown:
            raise ConfigError(f"--variants: unknown {unknown}; this study has {list(study.variants)}")
        study = dataclasses.replace(study, variants={v: study.variants[v] for v in wanted})
    config_from_args(args)  # validates the user's options once, before any training
    res = run_study(
        study,
        seeds=args.seeds,
        first_seed=args.seed or 0,
        full=args.full,
        user=_user_dict(args),
        overrides=args.overrides,
        out=args.out or "studies",
        quiet=args.quiet,
        engine=args.engine,
    )
    print_results(res, console)
    console.print(f"study directory: {res.out_dir} (summary.md, study.html)", highlight=False, soft_wrap=True)
    return 0


def print_results(res: StudyResult, console: Console) -> None:
    """The results table, with what its brackets mean said once under it, then the verdicts and each
    ordering's pairs, as rich tables laid out for the console's width: figures on one line, or stacked
    over two, or one row per variant and metric; a cell never wraps."""
    from deepfit.report.tables import compact, fitting, rich_table
    from deepfit.studies.runner import long_rows, stacked_rows, summary_rows
    from deepfit.studies.stats import CI_MEANING
    from deepfit.studies.verdicts import HEADER, INCONCLUSIVE, REFUTED, SUPPORTED, pair_rows, verdict_rows

    rows = summary_rows(res)
    kind, name = res.study.kind, res.study.name
    title = f"{kind if name == kind else f'{kind} {name}'}: results"
    layouts = (lambda: rich_table(rows, title=title, caption=CI_MEANING, whole=("variant",)),
               lambda: rich_table(stacked_rows(rows), title=title, caption=CI_MEANING, whole=("variant",), lines=True),
               lambda: compact(rich_table(stacked_rows(rows), title=title, caption=CI_MEANING, lines=True)),
               lambda: compact(rich_table(long_rows(res), title=title, caption=CI_MEANING + _LONG)))
    console.print(fitting((make() for make in layouts), console.width))
    if res.verdicts:
        styles = {SUPPORTED: "bold green", REFUTED: "bold red", INCONCLUSIVE: "yellow"}
        verdicts = verdict_rows(res.verdicts)
        console.print(fitting((make() for make in (
            lambda: rich_table(verdicts, title="verdicts", caption=HEADER, whole=("verdict",), styles=styles),
            lambda: compact(rich_table(verdicts, title="verdicts", caption=HEADER, whole=("verdict",), styles=styles)),
            lambda: _verdict_list(verdicts, HEADER, styles))), console.width))
        for v in (v for v in res.verdicts if v.claim.kind == "ordering"):
            pairs, heading = pair_rows(v), f"pairs of the ordering: {v.claim.text}"
            console.print(fitting((rich_table(pairs, title=heading, whole=("pair",)),
                                   compact(rich_table(pairs, title=heading, whole=("pair",)))), console.width))


def _verdict_list(rows: list[dict[str, str]], header: str, styles: dict[str, str]) -> Group:
    """The verdicts narrower than their table: each verdict and its claim as a paragraph, then its metric and
    figures one to a line, indented."""
    from rich.console import Group
    from rich.text import Text

    parts = [Text("verdicts", style="bold")]
    for row in rows:
        parts.append(Text.assemble((row["verdict"], styles.get(row["verdict"], "")), " ", row["claim"]))
        parts += [Text(f"  {key}: {row[key]}", no_wrap=False) for key in ("metric", "deepfit", "chapter")]
    parts.append(Text(header))
    return Group(*parts)


_LONG = " Here one row per variant and metric: the mean, std and h in columns of their own."


def _all(args: argparse.Namespace) -> int:
    """Every study (or `--only`'s) into one directory, then its index; exit 1 if any study failed."""
    from deepfit.studies import STUDIES, run_study
    from deepfit.studies.collection import chapter_order, run_all

    if args.variants:
        raise ConfigError("--variants names one study's variants; with `study all` use --only to choose studies")
    names = chapter_order(STUDIES.names())
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown or not wanted:
            raise ConfigError(f"--only: unknown studies {unknown or wanted}; choose from {names}")
        names = chapter_order(wanted)
    config_from_args(args)

    def done(name: str, res: StudyResult | None, error: str | None) -> None:
        if error is not None:
            console.print(f"study {name}: failed: {error}", highlight=False, markup=False)
        elif not args.quiet and res is not None:
            counts = ", ".join(f"{v.verdict}: {v.claim.text}" for v in res.verdicts) or "no claims"
            console.print(f"study {name}: {res.wall_time_s:.0f} s; {counts}", highlight=False, markup=False)

    root, entries, failed = run_all(
        names, run_study, out=args.out or "studies", on_done=done, seeds=args.seeds, first_seed=args.seed or 0,
        full=args.full, user=_user_dict(args), overrides=args.overrides, quiet=args.quiet, engine=args.engine,
    )
    console.print(f"{len(entries)} studies done, {len(failed)} failed; index: {root / 'index.md'}, "
                  f"{root / 'index.html'}", highlight=False)
    return 1 if failed else 0


def _docs(args: argparse.Namespace) -> int:
    """docs/studies.md (or `<--out>/studies.md`) regenerated from the study directories under DIR..."""
    from deepfit.studies.collection import studies_markdown

    roots = [Path(d) for d in (args.dirs or ["docs/studies"])]
    missing = [str(r) for r in roots if not r.is_dir()]
    if missing:
        raise ConfigError(f"study docs: no such folder {missing}; give the folders that hold study directories")
    out = Path(args.out or "docs")
    page = out / "studies.md"
    text = studies_markdown(roots, relative_to=out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(page, text)
    console.print(f"wrote {page}", highlight=False)
    return 0


def _user_dict(args: argparse.Namespace) -> dict[str, Any]:
    """The dedicated flags as a nested dict (the study's own settings sit below them)."""
    from deepfit.config import apply_overrides, parse_override

    pairs = {
        "train.epochs": args.epochs,
        "train.batch_size": args.batch_size,
        "data.subset": args.subset,
        "train.device": args.device,
        "data.dir": args.data_dir,
        "conventions.keras": args.keras,
    }
    parsed = [(k.split("."), v) for k, v in pairs.items() if v is not None]
    if args.data:
        parsed += [parse_override(o) for o in data_overrides(args.data)]
    return apply_overrides({}, parsed)
