"""The chapter's notebooks (notebooks/*.md, jupytext Markdown) run end to end at their small setting, and
the README and the documentation site link every one of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md"))
CHAPTER_PARTS = 5  # unstable gradients, reusing layers, optimizers and schedules, regularization, guidelines


def _read(path: Path):
    import jupytext

    return jupytext.read(path)


def _code_cells(path: Path) -> list[str]:
    return [cell.source for cell in _read(path).cells if cell.cell_type == "code"]


def test_one_notebook_per_part_of_the_chapter() -> None:
    assert len(NOTEBOOKS) == CHAPTER_PARTS, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_is_the_full_switch_set_to_small(path: Path) -> None:
    """One variable at the top switches to the chapter's scale; CI runs the small setting."""
    assert _code_cells(path)[0].strip() == "FULL = False"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_linked_from_the_readme_and_the_site(path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    index = (ROOT / "docs" / "index.md").read_text()
    nav = (ROOT / "mkdocs.yml").read_text()
    assert f"notebooks/{path.name}" in readme
    assert f"notebooks/{path.stem}.ipynb" in index
    assert re.search(rf"notebooks/{re.escape(path.stem)}\.ipynb", nav)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_end_to_end(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cell runs without raising (nbclient raises CellExecutionError on the first that does), and the
    notebook shows what it promises: figures or the pages of runs, diagnoses and studies."""
    from nbclient import NotebookClient

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the kernel inherits it: 2 shared cores
    nb = _read(path)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
             if out.get("output_type") in ("display_data", "execute_result")]
    kinds = {kind for out in shown for kind in out.get("data", {})}
    assert {"image/png", "text/html"} & kinds, f"{path.name} displayed no figure and no page"
    _keep_for_the_site(nb, path)


def _keep_for_the_site(nb, path: Path) -> None:
    """The executed notebook as docs/notebooks/<name>.ipynb (git-ignored), written atomically, so that
    `make docs` after `make test` renders these outputs instead of running each notebook a second time
    (the Makefile's rule runs one only when its .md is newer)."""
    import jupytext

    site = path.parent.parent / "docs" / "notebooks"
    site.mkdir(parents=True, exist_ok=True)
    tmp = site / f".{path.stem}.tmp.ipynb"
    jupytext.write(nb, tmp, fmt="ipynb")
    tmp.replace(site / f"{path.stem}.ipynb")
