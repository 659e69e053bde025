"""`deepfit study all` and `deepfit study docs` end to end on a sliver of Fashion-MNIST."""

import io
import json
import re

import pytest
from rich.console import Console
from tests.conftest import SWEEP_VARIANTS

from deepfit.cli.main import main
from deepfit.cli.study import print_results
from deepfit.studies import STUDIES
from deepfit.studies.collection import CHAPTER_ORDER, chapter_order

TINY = ["--subset", "200", "--set", "data.valid=100", "--epochs", "1", "--seeds", "2", "--quiet"]


def test_every_registered_study_has_a_place_in_the_chapter_order():
    assert sorted(CHAPTER_ORDER) == STUDIES.names()
    assert chapter_order(["zz", "guidelines", "reference", "aa"]) == ["reference", "guidelines", "aa", "zz"]


def test_study_all_writes_an_index_and_study_docs_a_page_from_it(tmp_path, capsys):
    out = tmp_path / "studies"
    code = main(["study", "all", "--only", "clipping,reference", "--out", str(out), *TINY])
    assert code == 0
    (root,) = out.iterdir()
    index = (root / "index.md").read_text()
    # run and listed in the chapter's order, whatever the order of --only
    assert re.search(r"2 studies.*\| reference \|.*reference-[0-9-]+/study.html.*\| clipping \|", index, re.S)
    assert re.search(r'href="clipping-[0-9-]+/study.html"', (root / "index.html").read_text())
    (ref_dir,) = root.glob("reference-*")
    reference = json.loads((ref_dir / "study.json").read_text())
    assert reference["verdicts"] and reference["machine"]["cpus"] >= 1

    docs = tmp_path / "docs"
    assert main(["study", "docs", str(out), "--out", str(docs)]) == 0
    page = (docs / "studies.md").read_text()
    # chapter order: the reference net before clipping; links relative to the page's folder
    assert page.index("\n## reference") < page.index("\n## clipping")
    assert "](../studies/all-" in page and reference["verdicts"][0]["claim"] in page
    capsys.readouterr()


def test_study_all_rejects_an_unknown_study_and_docs_a_missing_folder(tmp_path, capsys):
    assert main(["study", "all", "--only", "nosuch", "--out", str(tmp_path)]) == 2
    assert "unknown studies ['nosuch']" in capsys.readouterr().err
    assert main(["study", "docs", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["study", "reference", "extra"], ["study", "reference", "--only", "x"]])
def test_study_options_that_belong_to_another_form_are_refused(argv, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err.strip()


def test_a_study_prints_its_results_and_verdicts_as_tables_with_the_brackets_explained_once(tmp_path, capsys):
    code = main(["study", "reference", "--out", str(tmp_path), *TINY])
    out = " ".join(capsys.readouterr().out.split())  # the caption wraps at the console's width
    assert code == 0
    assert out.count("h is the half-width of the 95% confidence interval") == 1
    assert "study reference: results" in out and "verdicts" in out
    assert "with SGD the reference net reaches about 88-89% validation accuracy" in out  # a claim, never cut
    (study,) = tmp_path.iterdir()
    page = (study / "study.html").read_text()
    assert "<h2>Claim</h2>" in page and "<h2>Verdicts</h2>" in page and "h is the half-width" in page


@pytest.mark.parametrize("study", ["reference", "all"])
def test_fewer_than_one_seed_is_refused_before_any_training(study, tmp_path, capsys):
    assert main(["study", study, "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert "--seeds must be >= 1, got 0" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())

def _render(result, width: int) -> str:
    out = io.StringIO()
    print_results(result, Console(file=out, width=width, color_system=None))
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 120])
def test_results_table_fits_the_width_without_wrapping_a_cell(sweep_result, width):
    text = _render(sweep_result, width)
    assert max(len(line) for line in text.splitlines()) <= width
    for variant in SWEEP_VARIANTS:
        assert any(variant in line for line in text.splitlines())  # whole on one line, never cut
    assert "0.7429" in text and "seconds_per_epoch" in text  # the second variant's mean val_acc, the time


def test_wide_terminal_shows_each_figure_on_one_line_narrow_one_row_per_metric(sweep_result):
    wide, narrow = _render(sweep_result, 200), _render(sweep_result, 80)
    assert any("0.7429 ± 0.0024 [±0.021]" in line for line in wide.splitlines())
    row = next(line for line in narrow.splitlines() if "val_acc" in line and "0.7429" not in line and "0.7" in line)
    assert "±" in row and "0.0024" in row
