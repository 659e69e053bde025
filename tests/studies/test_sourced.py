import dataclasses
import time

import pytest

from deepfit.studies import STUDIES, Study, run_study, sourced
from deepfit.studies.sourced import paired_rows, run_with_sources, trained_source


def test_run_study_hands_a_study_with_its_own_runner_to_it():
    seen = {}

    def runner(study, **kw):
        seen.update(kw, name=study.name)
        return "result"

    study = Study(name="own", claim="", base={}, variants={"a": {}}, run=runner)
    assert run_study(study, seeds=4, out=None, quiet=True) == "result"
    assert seen["name"] == "own" and seen["seeds"] == 4 and seen["out"] is None


def test_paired_rows_compare_each_variant_with_the_baseline_seed_by_seed():
    runs = [
        {"variant": v, "seed": s, "test_acc": acc}
        for v, s, acc in [
            ("scratch", 0, 0.90),
            ("scratch", 1, 0.80),
            ("scratch", 2, 0.85),
            ("reused", 0, 0.95),
            ("reused", 1, 0.86),
            ("reused", 2, 0.90),
        ]
    ]
    (row,) = paired_rows(runs, "scratch", "test_acc")
    assert row["variant"] == "reused" and row["seeds"] == 3
    assert row["mean"] == pytest.approx((0.05 + 0.06 + 0.05) / 3)
    assert row["significant"] and row["low"] > 0
    runs += [{"variant": "fast", "seed": s, "test_acc": 0.9} for s in range(3)]
    rows = paired_rows(runs, "scratch", "test_acc", baselines={"reused": "fast"})
    assert [(r["variant"], r["baseline"]) for r in rows] == [("reused", "fast")]
    assert rows[0]["mean"] == pytest.approx((0.05 - 0.04 + 0.0) / 3)


def test_sourced_study_trains_the_source_once_and_reuses_it_in_the_variants(tmp_path, blobs_npz, monkeypatch):
    data = {"name": "npz", "path": str(blobs_npz), "valid": 100}
    source = trained_source(
        "src",
        base={
            "data": data,
            "model": {"hidden": [16, 8]},
            "optimizer": {"lr": 0.01},
            "train": {"epochs": 2, "early_stopping": False},
        },
        reduced={},
        full={},
    )
    study = Study(
        name="tinytransfer",
        claim="reusing layers trained on the same task helps",
        base={
            "data": {**data, "subset": 60},
            "model": {"hidden": [16, 8]},
            "optimizer": {"lr": 0.01},
            "train": {"epochs": 2, "early_stopping": False},
        },
        variants={"scratch": {}, "reused": {"transfer": {"source": "@src", "freeze_epochs": 1, "reuse": 1}}},
        seeds=2,
        seed_config=lambda seed: {"train": {"batch_size": 16 + seed}},
    )
    study = dataclasses.replace(
        study,
        run=lambda s, **kw: run_with_sources(
            s, sources={"src": slow_source}, baseline="scratch", source_only=("data.subset",), **kw
        ),
    )

    def slow_source(*args, **kwargs):
        time.sleep(1.0)  # the source's training counts in the study's wall time
        return source(*args, **kwargs)

    setups = []

    def spy(*args, **kwargs):
        setups.append(kwargs.get("setup_s", 0.0))
        return run_study(*args, **kwargs)

    monkeypatch.setattr(sourced, "run_study", spy)
    res = run_study(study, out=tmp_path, quiet=True, user={"data": {"subset": 500}})
    assert setups[0] >= 1.0 and res.wall_time_s >= setups[0]
    assert [(r["variant"], r["seed"]) for r in res.runs] == [
        ("scratch", 0),
        ("scratch", 1),
        ("reused", 0),
        ("reused", 1),
    ]
    assert (res.out_dir / "sources" / "src" / "model.json").is_file()
    assert "paired difference from the baseline" in (res.out_dir / "summary.md").read_text()
    assert (res.out_dir / "paired.csv").read_text().startswith("variant,baseline,metric,seeds")
    configs = (res.out_dir / "study.json").read_text()
    assert '"batch_size": 17' in configs and '"subset": 60' in configs and '"subset": 500' not in configs


@pytest.mark.parametrize("name", ["transfer", "pretraining"])
def test_reuse_studies_are_registered_with_a_scratch_baseline_and_their_own_runner(name):
    study = STUDIES.build(name)
    assert "scratch" in study.variants and study.run is not None and study.seeds >= 3
