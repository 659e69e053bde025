import math

from deepfit.studies import STUDIES, Study, run_study


def test_study_runs_every_variant_and_seed_and_writes_its_evidence(tmp_path, blobs_npz):
    study = Study(
        name="tiny",
        claim="a wider net is not worse on blobs",
        base={"data": {"name": "npz", "path": str(blobs_npz), "valid": 100},
              "model": {"hidden": [8]}, "optimizer": {"lr": 0.01}, "train": {"early_stopping": False}},
        variants={"narrow": {"model": {"hidden": [4]}}, "wide": {"model": {"hidden": [32]}}},
        seeds=2,
        reduced={"train": {"epochs": 3}},
        target=0.5,
    )
    res = run_study(study, out=tmp_path, quiet=True)
    assert [(r["variant"], r["seed"]) for r in res.runs] == [("narrow", 0), ("narrow", 1), ("wide", 0), ("wide", 1)]
    assert all(r["epochs"] == 3 for r in res.runs)
    wide = next(r for r in res.summary if r["variant"] == "wide")
    accs = [r["test_acc"] for r in res.runs if r["variant"] == "wide"]
    assert wide["test_acc_mean"] == sum(accs) / 2
    assert not math.isnan(wide["test_acc_ci95"])
    for name in ("runs.csv", "summary.csv", "summary.md", "study.json", "plots/val_acc.png"):
        assert (res.out_dir / name).is_file(), name
    assert "wide" in (res.out_dir / "summary.md").read_text()


def test_seeds_give_different_runs_and_same_seed_repeats(tmp_path, blobs_npz):
    study = Study(name="seeds", claim="", base={"data": {"name": "npz", "path": str(blobs_npz), "valid": 100},
                  "model": {"hidden": [8]}, "train": {"epochs": 1, "early_stopping": False}},
                  variants={"a": {}}, seeds=2)
    r1 = run_study(study, out=None, quiet=True).runs
    r2 = run_study(study, out=None, quiet=True).runs
    assert r1[0]["val_loss"] != r1[1]["val_loss"]
    assert [r["val_loss"] for r in r1] == [r["val_loss"] for r in r2]


def test_reference_study_is_registered_with_sgd_and_nadam():
    study = STUDIES.build("reference")
    assert set(study.variants) == {"sgd", "nadam"}
    assert study.base["model"]["hidden"] == [300, 100]


def test_reduced_target_replaces_the_target_only_in_the_reduced_run(tmp_path, blobs_npz):
    study = Study(name="bar", claim="", base={"data": {"name": "npz", "path": str(blobs_npz), "valid": 100},
                  "model": {"hidden": [8]}, "train": {"epochs": 2, "early_stopping": False}},
                  variants={"a": {}}, seeds=2, target=1.01, reduced_target=0.0)
    reduced = run_study(study, out=tmp_path, quiet=True)
    assert [r["epochs_to_target"] for r in reduced.runs] == [1, 1]  # every epoch reaches 0.0
    assert reduced.summary[0]["reached_target"] == 2
    assert "| 2/2 |" in (reduced.out_dir / "summary.md").read_text()
    full = run_study(study, full=True, out=None, quiet=True)
    assert all(math.isnan(r["epochs_to_target"]) for r in full.runs)  # no epoch reaches 1.01
    assert full.summary[0]["reached_target"] == 0


def test_the_machine_line_gives_the_threads_the_runs_used_not_those_before_the_setting(blobs_npz):
    import torch

    from deepfit.studies.runner import describe_machine

    before = torch.get_num_threads()
    torch.set_num_threads(2)  # as on a 2-core machine before train.threads applies
    try:
        study = Study(name="threads", claim="", base={"data": {"name": "npz", "path": str(blobs_npz), "valid": 100},
                      "model": {"hidden": [8]}, "train": {"epochs": 1, "early_stopping": False, "threads": 1}},
                      variants={"a": {}}, seeds=1)
        res = run_study(study, out=None, quiet=True)
    finally:
        torch.set_num_threads(before)
    assert res.machine["torch_threads"] == 1 and "(torch 1 threads)" in describe_machine(res.machine)


def test_a_study_in_a_log_prints_a_line_per_group_and_no_bar(tmp_path, blobs_npz):
    import io

    from rich.console import Console

    out = io.StringIO()
    study = Study(name="lines", claim="", base={"data": {"name": "npz", "path": str(blobs_npz), "valid": 100},
                  "model": {"hidden": [8]}, "train": {"epochs": 1, "early_stopping": False}},
                  variants={"a": {}, "b": {"model": {"hidden": [4]}}}, seeds=1)
    run_study(study, out=None, console=Console(file=out, width=80, color_system=None), engine="sequential")
    lines = out.getvalue().splitlines()
    assert lines == ["study lines: 1/2 runs done: a (1 at once)", "study lines: 2/2 runs done: b (1 at once)"]


def test_a_study_in_a_notebook_shows_its_page_drawn_for_one_kept_in_memory(sweep_result):
    from tests.conftest import SWEEP_VARIANTS

    shown = sweep_result._repr_html_()
    assert shown.startswith('<div class="deepfit-page">') and "Grid" in shown
    assert all(v in shown for v in SWEEP_VARIANTS) and "data:image/png;base64," in shown  # the accuracy bars
