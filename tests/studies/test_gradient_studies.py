import json
import math

from deepfit.diagnose import GradientNormProbe
from deepfit.studies import STUDIES, Study, run_study
from deepfit.studies.catalog.clipping import divergence


def test_probe_records_and_report_hook_reach_the_study_directory(tmp_path, blobs_npz):
    seen = {}

    def report(res, plots):
        seen["variants"] = sorted(res.records)
        plots.mkdir(parents=True, exist_ok=True)
        (plots / "extra.txt").write_text("ok")

    study = Study(
        name="probed",
        claim="",
        base={
            "data": {"name": "npz", "path": str(blobs_npz), "valid": 100},
            "model": {"hidden": [8, 8]},
            "train": {"epochs": 1, "early_stopping": False},
        },
        variants={"a": {}, "b": {"model": {"activation": "tanh"}}},
        seeds=1,
        probe=GradientNormProbe,
        report=report,
    )
    res = run_study(study, out=tmp_path, quiet=True)
    assert seen["variants"] == ["a", "b"]
    assert len(res.records["a"][0]["init"]) == 3  # two hidden layers and the output layer
    assert json.loads((res.out_dir / "probes.json").read_text())["b"][0]["layers"][-1] == "output"
    assert (res.out_dir / "plots" / "extra.txt").read_text() == "ok"


def test_a_diverging_run_is_reported_and_stopped_without_crashing_the_runner(tmp_path, blobs_npz):
    study = Study(
        name="diverge",
        claim="",
        base={
            "data": {"name": "npz", "path": str(blobs_npz), "valid": 100},
            "model": {"hidden": [16, 16]},
            "optimizer": {"name": "sgd", "lr": 1e12},
            "train": {"epochs": 2, "early_stopping": False},
        },
        variants={"plain": {"clip": {"name": "none"}}, "clipped": {"clip": {"name": "global_norm"}}},
        seeds=2,
        evaluate=divergence,
        metrics=("diverged",),
    )
    res = run_study(study, out=tmp_path, quiet=True)
    plain = next(r for r in res.summary if r["variant"] == "plain")
    assert plain["diverged_mean"] == 1.0
    assert plain["epochs_mean"] == 1.0  # stopped at the end of the epoch it diverged in
    assert math.isfinite(plain["val_loss_mean"])  # the weights went back to the last finite ones
    runs = [r for r in res.runs if r["variant"] == "plain"]
    assert all(r["val_acc"] < 0.6 for r in runs)  # the initial weights: about chance on three classes
    assert (res.out_dir / "plots" / "val_acc.png").is_file()


def test_gradient_studies_are_registered_with_the_chapter_settings():
    van = STUDIES.build("vanishing")
    assert set(van.variants) == {"sigmoid_normal", "sigmoid_glorot", "relu_he", "selu_lecun", "elu_he_bn"}
    assert van.base["model"]["hidden"] == [100] * 100 and van.base["optimizer"] == {"name": "sgd", "lr": 1e-3}
    assert van.full["train"]["epochs"] == 5 and len(van.reduced["model"]["hidden"]) >= 20
    act = STUDIES.build("activations")
    assert len(act.variants) == 10 and act.seeds >= 3
    assert {"none", "before", "after"} <= set(STUDIES.build("batchnorm").variants)
    assert {"none", "value", "global_norm"} <= set(STUDIES.build("clipping").variants)


def test_metric_bands_plot_survives_seeds_that_diverged_at_different_epochs(tmp_path):
    from deepfit.report import plot_metric_bands

    nan = float("nan")
    runs = {
        "a": [
            [{"epoch": 1, "grad_norm": 2.0}, {"epoch": 2, "grad_norm": nan}],
            [{"epoch": 1, "grad_norm": nan}, {"epoch": 2, "grad_norm": nan}],
        ]
    }
    assert plot_metric_bands(runs, "grad_norm", tmp_path / "g.png").is_file()
