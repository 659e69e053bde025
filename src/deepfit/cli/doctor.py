"""`deepfit doctor`: a short probe training, a ranked diagnosis, and on request the repair loop (`--fix`)."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from deepfit.atomic import write_text_atomic
from deepfit.cli.options import add_run_options, config_from_args
from deepfit.errors import ConfigError
from deepfit.presets import DEFAULT_TRAIN_PRESET

if TYPE_CHECKING:
    from deepfit.diagnose.repair import Attempt, Repair

console = Console()
_STEPS = 300  # diagnose.doctor.DEFAULT_STEPS, stated here so that parsing imports no torch (a test checks both)
_MAX_ROUNDS = 3  # diagnose.repair.MAX_ROUNDS, likewise


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
    p.add_argument("--fix", action="store_true", help="the repair loop: try the findings' remedies in turn over 2 "
                   "seeds, keep those that raise validation accuracy beyond the seeds' noise, until healthy")
    p.add_argument("--max-rounds", type=int, default=_MAX_ROUNDS, metavar="N",
                   help=f"with --fix: remedies to keep at most, one per round (default {_MAX_ROUNDS})")
    p.add_argument("--apply", metavar="FILE.toml", help="write the kept remedies (with --fix) or the top finding's "
                   "first remedy into this config file (created if missing; comments are lost)")
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    if args.run_dir is not None:
        return show_run(Path(args.run_dir))
    cfg = config_from_args(args, default_preset=DEFAULT_TRAIN_PRESET)  # validated before torch is imported

    from deepfit.config import to_toml
    from deepfit.diagnose.doctor import doctor_run
    from deepfit.diagnose.remedies import apply_remedy
    from deepfit.diagnose.repair import repair
    from deepfit.report.doctor import write_doctor_report
    from deepfit.run import create_run_dir, write_json

    repaired = None
    if args.fix:
        repaired = repair(cfg, steps=args.steps, max_rounds=args.max_rounds, quiet=args.quiet)
        diagnosis = repaired.initial
    else:
        diagnosis = doctor_run(cfg, steps=args.steps, quiet=args.quiet)
    out = create_run_dir(cfg.out, "doctor")
    write_text_atomic(out / "config.toml", to_toml(cfg))
    show(diagnosis.to_dict(), "diagnosis")
    data = diagnosis.to_dict()
    if repaired is not None:
        show_repair(repaired)
        data["repair"] = repaired.to_dict()
    write_json(out / "diagnosis.json", data)
    page = write_doctor_report(out, data, config_text=to_toml(cfg))
    console.print(f"doctor: {page}", highlight=False, soft_wrap=True)
    if args.apply:
        if repaired is not None:
            overrides = repaired.overrides
        else:
            overrides = apply_remedy(cfg, diagnosis.findings[0].remedies[0]).all if diagnosis.findings else []
        if not overrides:
            console.print(f"--apply: nothing to write to {args.apply}", highlight=False, soft_wrap=True)
        else:
            apply_remedy_file(args.apply, overrides)
            console.print(f"wrote {shell_text(overrides)} to {args.apply}", highlight=False, soft_wrap=True)
    return 0


def show_run(run_dir: Path) -> int:
    """Print the diagnosis a run trained with `--diagnose` wrote (`diagnosis.json`)."""
    from deepfit.run import existing_run_dir

    existing_run_dir(run_dir)
    path = run_dir / "diagnosis.json"
    if not path.is_file():
        raise ConfigError(f"{run_dir} has no doctor probes (no diagnosis.json): train it with --diagnose, or run "
                          f"`deepfit doctor --config {run_dir / 'config.toml'}`")
    show(json.loads(path.read_text()), f"diagnosis of {run_dir}")
    return 0


def shell_text(overrides: Sequence[str]) -> str:
    """`--set` flags quoted for a shell (`config.shell_overrides`, imported late: parsing imports no torch)."""
    from deepfit.config import shell_overrides

    return shell_overrides(list(overrides))


def show(diagnosis: dict[str, Any], title: str, out: Console | None = None) -> None:
    """The findings of a diagnosis (`Diagnosis.to_dict()`), ranked, each with every remedy as `--set` flags a
    shell takes as they are; one line when there is none. Never wrapped inside a line (`soft_wrap`), so a
    remedy stays whole when the output goes to a file or a narrow terminal."""
    out = out or console
    findings = diagnosis["findings"]
    if not findings:
        healthy = "the network learns and the doctor saw nothing wrong"
        out.print(f"{title}: no finding; {healthy}", highlight=False, soft_wrap=True)
        return
    lines = [f"[bold]{title}[/bold]"]
    for i, f in enumerate(findings, start=1):
        lines.append(f"{i}. [bold]{f['name']}[/bold] ({f['severity']}): {escape(f['summary'])}")
        evidence = "; ".join(f"{k} {v}" for k, v in f["evidence"].items() if not isinstance(v, list | dict))
        if evidence:
            lines.append(f"   evidence: {escape(evidence)}")
        for j, remedy in enumerate(f["remedies"]):
            lines.append(f"   {'try' if j == 0 else ' or'}: " + escape(shell_text(remedy)))
        lines.append(f"   read: {f['docs']}")
    out.print("\n".join(lines), highlight=False, soft_wrap=True)


def _figures(values: Sequence[float | None]) -> str:
    return ", ".join("n/a" if v is None or not math.isfinite(v) else f"{v:.3f}" for v in values)


def show_attempt(attempt: Attempt, out: Console | None = None) -> None:
    """One remedy the repair loop tried: its flags, validation accuracy per seed before and after, verdict."""
    out = out or console
    implied = f" (implied: {shell_text(attempt.implied)})" if attempt.implied else ""
    figures = (f"{_figures(attempt.before_accuracy)} -> {_figures(attempt.after_accuracy)}"
               if attempt.after_accuracy else "not trained")
    verdict = "kept" if attempt.kept else "rejected"
    out.print(escape(f"round {attempt.round}, {attempt.finding}: {shell_text(attempt.remedy)}{implied}\n"
                     f"   validation accuracy per seed {figures}: {verdict}, {attempt.reason}"),
              highlight=False, soft_wrap=True)


def show_repair(result: Repair, out: Console | None = None) -> None:
    """Each remedy the repair loop tried, how it ended, the accuracy per seed at both ends, the remedies kept
    and the final findings."""
    out = out or console
    for attempt in result.attempts:
        show_attempt(attempt, out)
    seeds = ", ".join(str(s) for s in result.seeds)
    out.print(escape(f"repair: {result.outcome.replace('_', ' ')}: {result.reason}; validation accuracy per seed "
                     f"({seeds}) {_figures(result.initial_accuracy)} -> {_figures(result.final_accuracy)}"),
              highlight=False, soft_wrap=True)
    if result.kept:
        out.print(escape(f"kept: {shell_text(result.overrides)}"), highlight=False, soft_wrap=True)
    show(result.final.to_dict(), "after the repair", out)


def apply_remedy_file(path: str | Path, remedy: list[str]) -> None:
    """Write the `--set` overrides of `remedy` into the TOML file at `path` (created if missing)."""
    import tomli_w

    from deepfit.config import apply_overrides, config_from_dict, parse_override, read_toml

    path = Path(path)
    data = apply_overrides(read_toml(path) if path.exists() else {}, [parse_override(o) for o in remedy])
    config_from_dict(data, source=str(path))
    write_text_atomic(path, tomli_w.dumps(data))
