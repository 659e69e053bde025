"""Every study at once (`deepfit study all`) and the pages that collect them: an index of a run of all
studies, and `docs/studies.md`, generated from study directories rather than written by hand."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepfit.atomic import write_text_atomic
from deepfit.errors import DataError
from deepfit.report import link_html, markdown_table, paragraph_html, table_html, write_page
from deepfit.run import create_run_dir
from deepfit.studies.runner import StudyResult, describe_machine
from deepfit.studies.spec import STUDIES
from deepfit.studies.verdicts import HEADER, INCONCLUSIVE, REFUTED, SUPPORTED


@dataclass
class StudyEntry:
    """One study directory as the index pages read it: its summary.md and study.json."""

    name: str
    directory: Path
    evidence: dict[str, Any]
    summary: str

    @property
    def verdicts(self) -> list[dict[str, Any]]:
        return self.evidence.get("verdicts", [])

    def counts(self) -> dict[str, int]:
        return {k: sum(v["verdict"] == k for v in self.verdicts) for k in (SUPPORTED, REFUTED, INCONCLUSIVE)}


# The chapter's order: the problem first (vanishing gradients), then its remedies, then the rest of the
# toolbox; `study all` runs and lists them so, and a study outside this list comes after, by name.
CHAPTER_ORDER = (
    "reference", "vanishing", "activations", "batchnorm", "clipping", "transfer", "pretraining",
    "optimizers", "schedules", "regularization", "mc_dropout", "guidelines",
)


def chapter_order(names: Sequence[str]) -> list[str]:
    """`names` in the chapter's order (CHAPTER_ORDER), unknown names last, sorted."""
    rank = {n: i for i, n in enumerate(CHAPTER_ORDER)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def read_entry(directory: Path) -> StudyEntry:
    """The study written to `directory` (by `run_study`).

    Raises:
        DataError: `directory` has no study.json or summary.md, or its study.json is not valid JSON.
    """
    try:
        evidence = json.loads((directory / "study.json").read_text(encoding="utf-8"))
        summary = (directory / "summary.md").read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataError(f"{directory}: not a study directory ({Path(exc.filename).name} is missing); "
                        "`deepfit study NAME` writes one") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{directory / 'study.json'}: not valid JSON ({exc})") from None
    return StudyEntry(str(evidence.get("study", directory.name)), directory, evidence, summary)


def run_all(
    names: Sequence[str],
    run: Callable[..., StudyResult],
    *,
    out: str | Path,
    on_done: Callable[[str, StudyResult | None, str | None], None] | None = None,
    **options: Any,
) -> tuple[Path, list[StudyEntry], dict[str, str]]:
    """Run each study of `names` with `run(study, out=<all dir>, **options)` into one directory, then write
    its index (index.md, index.html). A study that fails is reported and the rest go on.

    Returns the directory, the entries of the studies that finished, and the error of each that failed.
    """
    root = create_run_dir(out, "all")
    entries, failed = [], {}
    for name in names:
        try:
            res = run(STUDIES.build(name), out=root, **options)
        except Exception as exc:  # one study's failure must not lose the others' hours of work
            failed[name] = f"{type(exc).__name__}: {exc}"
            if on_done is not None:
                on_done(name, None, failed[name])
            continue
        assert res.out_dir is not None
        entries.append(read_entry(res.out_dir))
        if on_done is not None:
            on_done(name, res, None)
    write_index(root, entries, failed)
    return root, entries, failed


def write_index(root: Path, entries: Sequence[StudyEntry], failed: dict[str, str] | None = None) -> Path:
    """index.md and index.html in `root`: per study its verdict counts, wall time and links to its pages,
    then every verdict."""
    failed = failed or {}
    rows, links = [], []
    for e in entries:
        rel = e.directory.relative_to(root) if e.directory.is_relative_to(root) else e.directory
        c = e.counts()
        rows.append({"study": e.name, "supported": c[SUPPORTED], "refuted": c[REFUTED],
                     "inconclusive": c[INCONCLUSIVE], "wall time (s)": _wall(e), "summary": f"{rel}/summary.md",
                     "page": f"{rel}/study.html"})
        links.append((e.name, f"{rel}/study.html", f"{rel}/summary.md"))
    rows += [{"study": name, "supported": "–", "refuted": "–", "inconclusive": "–", "wall time (s)": "–",
              "summary": f"failed: {why}", "page": "–"} for name, why in failed.items()]
    total = sum(_wall_s(e) for e in entries)
    head = f"{len(entries)} studies, total wall time {total:.0f} s ({total / 3600:.2f} h)"
    md = [f"# deepfit studies\n\n{head}\n", markdown_table(rows), "\n## every verdict\n", HEADER + "\n",
          markdown_table(_all_verdicts(entries))]
    write_text_atomic(root / "index.md", "\n".join(md) + "\n")
    page_rows = [{k: v for k, v in r.items() if k not in ("summary", "page")} for r in rows]
    listing = "<ul>" + "".join(f"<li>{link_html(page, name)} ({link_html(summary, 'summary.md')})</li>"
                                for name, page, summary in links) + "</ul>"
    sections = [("Studies", paragraph_html(head) + table_html(page_rows) + listing),
                ("Every verdict", paragraph_html(HEADER) + table_html(_all_verdicts(entries)))]
    write_page(root / "index.html", title="deepfit studies", sections=sections)
    return root / "index.md"


def studies_markdown(roots: Sequence[Path], *, relative_to: Path) -> str:
    """docs/studies.md from the study directories under `roots`: the newest directory of each registered
    study, in the registry's order; links are made relative to `relative_to` (the page's folder).

    Raises:
        DataError: no study directory under any of `roots`.
    """
    found: dict[str, StudyEntry] = {}
    for root in roots:
        for path in sorted(Path(root).rglob("study.json")):
            entry = read_entry(path.parent)
            old = found.get(entry.name)
            if old is None or entry.evidence.get("time", "") >= old.evidence.get("time", ""):
                found[entry.name] = entry
    if not found:
        raise DataError(f"no study directory (with study.json) under {', '.join(map(str, roots))}")
    order = chapter_order(list(found))
    entries = [found[n] for n in order]
    total = sum(_wall_s(e) for e in entries)
    newest = max(str(e.evidence.get("time", "")) for e in entries) or "undated"
    noun = "study" if len(entries) == 1 else "studies"
    parts = [
        "# Study results",
        "",
        "Generated by `deepfit study docs` from the study directories under "
        + ", ".join(f"`{_rel(Path(r), relative_to)}`" for r in roots)
        + f" (newest run {newest}); do not edit by hand. Each section repeats a study's `summary.md`"
        " (mean ± std [95% confidence half-width, Student t] over seeds; accuracies in [0, 1]) with the command,"
        " the machine and the wall time that produced it, and its plots. Verdicts are computed from paired"
        " per-seed differences (studies/verdicts.py), never written by hand; `seconds_per_epoch` of runs"
        " trained at once in a group is the group's epoch.",
        "",
        f"{len(entries)} {noun}, total wall time {total:.0f} s ({total / 3600:.2f} h).",
        "",
        "## Every verdict",
        "",
        HEADER,
        "",
        markdown_table(_all_verdicts(entries)),
    ]
    for e in entries:
        ev = e.evidence
        body = e.summary.split("\n", 1)[1].strip() if e.summary.startswith("# ") else e.summary.strip()
        body = body.replace("\n## ", "\n### ")  # the study's own sections sit below its heading
        where = describe_machine(ev["machine"]) if ev.get("machine") else "machine not recorded"
        made = ev.get("versions", {})
        parts += ["", f"## {e.name}", "",
                  f"Directory `{_rel(e.directory, relative_to)}`; {where}; deepfit {made.get('deepfit')}, commit "
                  f"{made.get('commit')}, {ev.get('time', '')}.", "", body]
        plots = sorted((e.directory / "plots").glob("*.png"))
        if plots:
            parts += ["", " ".join(f"![{p.stem}]({_rel(p, relative_to)})" for p in plots)]
    return "\n".join(parts) + "\n"


def _all_verdicts(entries: Sequence[StudyEntry]) -> list[dict[str, Any]]:
    rows = []
    for e in entries:
        for v in e.verdicts:
            rows.append({"study": e.name, "claim": v["claim"], "metric": v["metric"], "deepfit": v.get("figure", ""),
                         "chapter": v.get("chapter") or "–", "verdict": v["verdict"]})
    return rows


def _wall_s(e: StudyEntry) -> float:
    w = e.evidence.get("wall_time_s")
    return float(w) if isinstance(w, int | float) else 0.0


def _wall(e: StudyEntry) -> str:
    return f"{_wall_s(e):.0f}"


def _rel(path: Path, base: Path) -> str:
    return os.path.relpath(path.resolve(), base.resolve())
