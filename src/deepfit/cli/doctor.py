"""`deepfit doctor`: a short probe training, a ranked diagnosis, and on request the fix of the top finding."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from deepfit.atomic import write_text_atomic
from deepfit.cli.options import add_run_options, config_from_args
from deepfit.errors import ConfigError
from deepfit.presets import DEFAULT_TRAIN_PRESET

if TYPE_CHECKING:
    from deepfit.diagnose.doctor import Diagnosis

console = Console()
_STEPS = 300  # diagnose.doctor.DEFAULT_STEPS, stated here so that parsing imports no torch (a test checks both)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="train briefly while probing every layer, then name what goes wrong and how to fix it",
        description="A short probe training of the run the options describe (early stopping off), per-layer "
        "statistics on a fixed batch, and the findings of the doctor's rules, ranked (docs/doctor.md). Writes "
        "diagnosis.json and doctor.html under --out (default runs/).",
    )
    p.add_argument("run_dir", nargs="?", metavar="RUN_DIR",
                   help="show the diagnosis of a run trained with --diagnose instead of running the doctor")
    add_run_options(p)
    p.add_argument("--steps", type=int, default=_STEPS, help=f"training steps, rounded up to whole epochs "
                   f"(default {_STEPS})")
    p.add_argument("--fix", action="store_true", help="apply the top finding's first remedy, run again, compare")
    p.add_argument("--apply", metavar="FILE.toml", help="write the top finding's first remedy into this config "
                   "file (created if missing; comments are lost)")
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    if args.run_dir is not None:
        return show_run(Path(args.run_dir))
    cfg = config_from_args(args, default_preset=DEFAULT_TRAIN_PRESET)  # validated before torch is imported

    from deepfit.config import to_toml
    from deepfit.diagnose.doctor import doctor_run, fix_run
    from deepfit.report.doctor import write_doctor_report
    from deepfit.run import create_run_dir, write_json

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


def show_run(run_dir: Path) -> int:
    """Print the diagnosis a run trained with `--diagnose` wrote (`diagnosis.json`)."""
    from deepfit.run import existing_run_dir

    existing_run_dir(run_dir)
    path = run_dir / "diagnosis.json"
    if not path.is_file():
        raise ConfigError(f"{run_dir} has no doctor probes (no diagnosis.json): train it with --diagnose, or run "
                          f"`deepfit doctor --config {run_dir / 'config.toml'}`")
    findings = json.loads(path.read_text())["findings"]
    _print(findings, f"diagnosis of {run_dir}")
    return 0


def show(diagnosis: Diagnosis, title: str) -> None:
    """The findings, ranked, in the terminal (or one line when there is none)."""
    _print([f.to_dict() for f in diagnosis.findings], title)


def _print(findings: list[dict], title: str) -> None:
    if not findings:
        console.print(f"{title}: no finding; the doctor saw nothing wrong", highlight=False)
        return
    lines = [f"[bold]{title}[/bold]"]
    for i, f in enumerate(findings, start=1):
        lines.append(f"{i}. [bold]{f['name']}[/bold] ({f['severity']}): {escape(f['summary'])}")
        evidence = "; ".join(f"{k} {v}" for k, v in f["evidence"].items() if not isinstance(v, list | dict))
        if evidence:
           lines.append(f"   evidence: {escape(evidence)}")
        for j, remedy in enumerate(f["remedies"]):
            lines.append(f"   {'try' if j == 0 else ' or'}: " + escape(" ".join(f"--set {o}" for o in remedy)))
        lines.append(f"   read: {f['docs']}")
    console.print("\n".join(lines), highlight=False)


def apply_remedy(path: str | Path, remedy: list[str]) -> None:
    """Write the `--set` overrides of `remedy` into the TOML file at `path` (created if missing)."""
    import tomli_w

    from deepfit.config import apply_overrides, config_from_dict, parse_override, read_toml

    path = Path(path)
    data = apply_overrides(read_toml(path) if path.exists() else {}, [parse_override(o) for o in remedy])
    config_from_dict(data, source=str(path))
    write_text_atomic(path, tomli_w.dumps(data))
