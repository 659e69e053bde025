import dataclasses
import math

import numpy as np

from deepfit.studies import STUDIES, run_study


def test_regularization_study_reports_train_valid_gap_and_mc_figures(tmp_path):
    study = STUDIES.build("regularization")
    assert {"none", "dropout_0.2", "selu_alpha", "max_norm_1", "augment", "l2_0.01"} <= set(study.variants)
    rng = np.random.default_rng(0)
    x = (rng.random((260, 28, 28)) * 255).astype(np.uint8)
    y = rng.integers(0, 3, 260)
    path = tmp_path / "img.npz"
    np.savez(path, x_train=x[:200], y_train=y[:200], x_test=x[200:], y_test=y[200:])
    study = dataclasses.replace(study, variants={k: study.variants[k] for k in ("none", "dropout_0.2", "augment")})
    user = {
        "data": {"name": "npz", "path": str(path), "valid": 50, "subset": None},
        "train": {"epochs": 1, "device": "cpu"},
        "model": {"hidden": [8]},
    }
    res = run_study(study, seeds=1, user=user, out=tmp_path / "out", quiet=True)
    rows = {r["variant"]: r for r in res.runs}
    assert math.isnan(rows["none"]["mc_test_acc"]) and not math.isnan(rows["dropout_0.2"]["mc_test_acc"])
    for r in rows.values():
        assert r["gap"] == r["train_acc"] - r["val_acc"]
        assert 0 <= r["test_ece"] <= 1 and r["test_nll"] > 0
    summary = (res.out_dir / "summary.md").read_text()
    assert "mc_test_ece" in summary and "gap" in summary
