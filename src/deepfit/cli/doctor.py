"""`deepfit doctor`: a short probe training, a ranked diagnosis, and on request the fix of the top finding."""

from __future__ import annotations

import argparse
from pathlib import Path

import tomli_w
from rich.console import Console
from rich.table import Table

from deepfit.atomic import write_text_atomic
from deepfit.cli.options import add_run_options, config_from_args
from deepfit.config import apply_overrides, config_from_dict, parse_override, read_toml, to_toml
from deepfit.diagnose.doctor import DEFAULT_STEPS, Diagnosis, doctor_run, fix_run
from deepfit.diagnose.rules import Finding
from deepfit.presets import DEFAULT_TRAIN_PRESET
from deepfit.report.doctor import write_doctor_report
from deepfit.run import create_run_dir, write_json

console = Console()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="train briefly while probing every layer, then name what goes wrong and how to fix it",
        description="A short probe training of the run the options describe (early stopping off), per-layer "
        "statistics on a fixed batch, and the findings of the doctor's rules, ranked (docs/doctor.md). Writes "
        "diagnosis.json and doctor.html under --out (default runs/).",
    )
    add_run_options(p)
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"training steps, rounded up to whole epochs "
                   f"(default {DEFAULT_STEPS})")
    p.add_argument("--fix", action="store_true", help="apply the top finding's first remedy, run again, compare")
    p.add_argument("--apply", metavar="FILE.toml", help="write the top finding's first remedy into this config "
                   "file (created if missing; comments are lost)")
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, default_preset=DEFAULT_TRAIN_PRESET)
    diagnosis = doctor_run(cfg, steps=args.steps, quiet=args.quiet)
    out = create_run_dir(cfg.out, "doctor")
    write_text_atomic(out / "config.toml", to_toml(cfg))
    show(diagnosis, "diagnosis")
    fixed = remedy = None
    if args.fix:
        outcome = fix_run(diagnosis, steps=args.steps, quiet=args.quiet)
        if outcome is None:
            console.print("nothing to fix", highlight=False)
        else:
            remedy, fixed = outcome
            show(fixed, f"after --set {' --set '.join(remedy)}")
            write_json(out / "diagnosis_fixed.json", fixed.to_dict())
    write_json(out / "diagnosis.json", diagnosis.to_dict())
    page = write_doctor_report(out, diagnosis.to_dict(), config_text=to_toml(cfg),
                               fixed=None if fixed is None else fixed.to_dict(), remedy=remedy)
    console.print(f"doctor: {page}", highlight=False)
    if args.apply:
        if not diagnosis.findings:
            console.print(f"--apply: nothing to write to {args.apply}", highlight=False)
        else:
            apply_remedy(args.apply, diagnosis.findings[0].remedies[0])
            console.print(f"wrote {' '.join(diagnosis.findings[0].remedies[0])} to {args.apply}", highlight=False)
    return 0


def show(diagnosis: Diagnosis, title: str) -> None:
    """The findings as a ranked table in the terminal (or one line when there is none)."""
    if diagnosis.healthy:
        console.print(f"{title}: no finding; the doctor saw nothing wrong", highlight=False)
        return
    table = Table(title=title, show_lines=True)
    table.add_column("#")
    table.add_column("finding", no_wrap=True)
    for column in ("what", "evidence", "try", "read"):
        table.add_column(column, overflow="fold")
    for i, f in enumerate(diagnosis.findings, start=1):
        table.add_row(str(i), f"{f.name} ({f.severity})", f.summary, _evidence(f),
                      "\n".join("--set " + " --set ".join(r) for r in f.remedies), f.docs)
    console.print(table)


def _evidence(finding: Finding) -> str:
    return "; ".join(f"{k} {v}" for k, v in finding.evidence.items() if not isinstance(v, list | dict))


def apply_remedy(path: str | Path, remedy: list[str]) -> None:
    """Write the `--set` overrides of `remedy` into the TOML file at `path` (created if missing)."""
    path = Path(path)
    data = apply_overrides(read_toml(path) if path.exists() else {}, [parse_override(o) for o in remedy])
    config_from_dict(data, source=str(path))
    write_text_atomic(path, tomli_w.dumps(data))
