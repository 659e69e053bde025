"""The optimizers and schedules studies: every variant is a valid config whose optimizer and schedule build."""

from __future__ import annotations

import pytest
import torch

from deepfit.optim import build_optimizer
from deepfit.run.setup import run_schedule
from deepfit.studies import STUDIES
from deepfit.studies.runner import variant_config


@pytest.mark.parametrize("study_name", ["optimizers", "schedules"])
@pytest.mark.parametrize("full", [False, True])
def test_every_variant_builds_its_optimizer_and_schedule(study_name, full):
    study = STUDIES.build(study_name)
    assert study.seeds >= 3
    for variant in study.variants:
        cfg = variant_config(study, variant, full=full, user={}, overrides=[], seed=0)
        build_optimizer(cfg.optimizer.name, [torch.nn.Parameter(torch.zeros(1))], **cfg.optimizer.params())
        schedule, callbacks = run_schedule(cfg, 55_000)
        if study_name == "schedules":
            assert (schedule is None) == (variant in ("constant", "performance"))
            assert len(callbacks) == (variant == "performance")
        else:
            assert schedule is None and callbacks == []


def test_optimizers_study_compares_the_nine_optimizers_on_one_net():
    study = STUDIES.build("optimizers")
    assert list(study.variants) == [
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "adam",
        "adamax",
        "nadam",
        "adamw",
    ]
    configs = [variant_config(study, v, full=False, user={}, overrides=[], seed=0) for v in study.variants]
    assert len({c.model.model_dump_json() for c in configs}) == 1
    assert [c.optimizer.name for c in configs] == list(study.variants)


def test_schedules_study_one_cycle_peaks_at_the_chapter_max_lr():
    study = STUDIES.build("schedules")
    cfg = variant_config(study, "one_cycle", full=True, user={}, overrides=[], seed=0)
    schedule, _ = run_schedule(cfg, 55_000)
    steps = 25 * 430  # 55,000 / 128 rounded up, 25 epochs
    assert max(schedule(t) for t in range(0, steps, 10)) == pytest.approx(0.1, rel=1e-3)
    assert schedule(steps - 1) == pytest.approx(0.01 / 1000)
