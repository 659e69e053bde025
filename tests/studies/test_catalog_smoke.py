"""Every registered study end to end on a sliver of Fashion-MNIST: runs, summary, verdicts, pages, plots.

A smoke test of the pipeline (the figures of 200 images and one epoch mean nothing); the studies' own
settings are checked in the other files of this folder.
"""

import json

import pytest

from deepfit.studies import STUDIES, run_study, timing
from deepfit.studies.catalog import mc_dropout, regularization
from deepfit.studies.verdicts import INCONCLUSIVE, REFUTED, SUPPORTED

TINY = {"data": {"subset": 200, "valid": 100}, "train": {"epochs": 1}}


@pytest.fixture
def few_passes(monkeypatch):
    """Fewer MC Dropout passes and timed steps: the same code paths, a fraction of the time."""
    monkeypatch.setattr(mc_dropout, "SAMPLES", (1, 2))
    monkeypatch.setattr(mc_dropout, "MOST", 2)
    monkeypatch.setattr(regularization, "MC_SAMPLES", 2)
    monkeypatch.setattr(timing, "WARMUP", 1)
    monkeypatch.setattr(timing, "STEPS", 2)


@pytest.mark.parametrize("name", STUDIES.names())
def test_every_study_runs_and_gives_each_claim_a_verdict(name, tmp_path, few_passes):
    study = STUDIES.build(name)
    res = run_study(study, seeds=2, out=tmp_path, quiet=True, user=TINY)
    assert {r["variant"] for r in res.runs} == set(study.variants)
    assert len(res.verdicts) == len(study.claims) > 0
    assert all(v.verdict in (SUPPORTED, REFUTED, INCONCLUSIVE) for v in res.verdicts)
    evidence = json.loads((res.out_dir / "study.json").read_text())
    assert [v["claim"] for v in evidence["verdicts"]] == [c.text for c in study.claims]
    assert evidence["machine"]["cpus"] >= 1 and evidence["command"]
    summary = (res.out_dir / "summary.md").read_text()
    assert "## verdicts" in summary and study.claims[0].text in summary
    page = (res.out_dir / "study.html").read_text()
    assert "Verdicts" in page and "<img" in page
