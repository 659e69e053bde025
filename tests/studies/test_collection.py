"""Every study at once and its index (studies/collection.py)."""

from __future__ import annotations

import json
import types

import pytest

from deepfit.errors import DataError
from deepfit.studies.collection import CHAPTER_ORDER, chapter_order, read_entry, run_all


def test_studies_run_in_the_chapters_order_and_unknown_ones_last_by_name():
    assert chapter_order(["zeta", "optimizers", "alpha", "vanishing", "reference"]) == [
        "reference", "vanishing", "optimizers", "alpha", "zeta"]
    assert chapter_order(list(reversed(CHAPTER_ORDER))) == list(CHAPTER_ORDER)


def _write_study(directory, name: str, verdicts: list[str], wall: float) -> None:
    directory.mkdir(parents=True)
    evidence = {"study": name, "wall_time_s": wall,
                "verdicts": [{"claim": f"claim {i}", "metric": "acc", "verdict": v} for i, v in enumerate(verdicts)]}
    (directory / "study.json").write_text(json.dumps(evidence))
    (directory / "summary.md").write_text(f"# {name}\n")


def test_an_entry_counts_its_verdicts(tmp_path):
    _write_study(tmp_path / "s", "vanishing", ["supported", "refuted", "supported", "inconclusive"], 12.0)
    entry = read_entry(tmp_path / "s")
    assert (entry.name, entry.summary) == ("vanishing", "# vanishing\n")
    assert entry.counts() == {"supported": 2, "refuted": 1, "inconclusive": 1}


def test_a_directory_that_is_no_study_is_named_with_the_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"not a study directory \(study\.json is missing\); `deepfit study NAME`"):
        read_entry(tmp_path)
    (tmp_path / "study.json").write_text("{}")
    with pytest.raises(DataError, match=r"summary\.md is missing"):
        read_entry(tmp_path)
    (tmp_path / "summary.md").write_text("")
    (tmp_path / "study.json").write_text("{oops")
    with pytest.raises(DataError, match=r"study\.json: not valid JSON"):
        read_entry(tmp_path)


def test_a_failing_study_is_reported_and_the_others_still_run_and_are_indexed(tmp_path):
    done = []

    def run(study, *, out, **options):
        if study.name == "clipping":
            raise RuntimeError("out of memory")
        directory = out / study.name
        _write_study(directory, study.name, ["supported"], 3600.0)
        return types.SimpleNamespace(out_dir=directory)

    root, entries, failed = run_all(["clipping", "vanishing"], run, out=tmp_path,
                                    on_done=lambda name, res, err: done.append((name, err)))
    assert [e.name for e in entries] == ["vanishing"] and failed == {"clipping": "RuntimeError: out of memory"}
    assert done == [("clipping", "RuntimeError: out of memory"), ("vanishing", None)]
    index = (root / "index.md").read_text()
    assert "1 studies, total wall time 3600 s (1.00 h)" in index
    assert "failed: RuntimeError: out of memory" in index and "vanishing/study.html" in index
    assert (root / "index.html").is_file()
