"""The final pass: each split through the network once, every final figure equal to its former computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepfit.config import load_config
from deepfit.data import from_arrays
from deepfit.nn import ModelSpec, build_model
from deepfit.run import run_training
from deepfit.run.predictions import FinalPass
from deepfit.train import Trainer, UpdateRule, objective_for
from deepfit.train.engine import Group


@pytest.fixture
def splits():
    rng = np.random.default_rng(0)
    x = (rng.random((330, 6, 6)) * 255).astype(np.uint8)
    y = (x[:, :3].mean((1, 2)) > x[:, 3:].mean((1, 2))).astype(np.int64) + 2 * (x[:, 0, 0] > 127)  # 4 classes
    return from_arrays(x[:260], y[:260], x[260:], y[260:], valid=60)


def _trainer(splits, members: int) -> Trainer:
    torch.manual_seed(0)
    models = [build_model(ModelSpec(splits.input_shape, splits.num_classes, hidden=(12,))) for _ in range(members)]
    trainer = Trainer(models if members > 1 else models[0], objective_for("auto", "multiclass"),
                      UpdateRule("nadam", {"lr": 1e-2}), seed=list(range(members)) if members > 1 else 0,
                      eval_batch_size=64)
    trainer.fit(splits.train, splits.valid, epochs=2)
    return trainer


def _previous_confusion(trainer: Trainer, splits) -> torch.Tensor:
    """The confusion matrices as run/training.py computed them before the final pass: from `Trainer.predict`."""
    probs = trainer.predict(splits.test.x)
    probs = probs.unsqueeze(0) if len(trainer.members) == 1 else probs
    k, y = splits.num_classes, splits.test.y.long()
    return torch.stack([torch.bincount(y * k + p, minlength=k * k).reshape(k, k) for p in probs.argmax(2)])


@pytest.mark.parametrize("members", [1, 3])
def test_scores_probabilities_and_confusion_equal_the_separate_passes(splits, members):
    trainer = _trainer(splits, members)
    final = FinalPass(trainer, splits)
    for name in ("train", "valid", "test"):
        before = trainer.group.evaluate(getattr(splits, name), 64)
        after = final.scores(name)
        for b, a in zip(before, after, strict=True):
            assert a["loss"] == pytest.approx(b["loss"], rel=1e-6) and a["acc"] == pytest.approx(b["acc"], abs=1e-12)
    probs = trainer.predict(splits.test.x)
    assert torch.allclose(final.probabilities("test"), probs if members > 1 else probs.unsqueeze(0), atol=1e-7)
    assert torch.equal(final.confusion("test"), _previous_confusion(trainer, splits))
    assert torch.equal(final.classes("test"), final.probabilities("test").argmax(2))


def test_each_split_goes_through_the_network_once(splits, monkeypatch):
    trainer = _trainer(splits, 1)
    seen = []
    outputs = Group.outputs
    monkeypatch.setattr(Group, "outputs", lambda self, x: seen.append(len(x)) or outputs(self, x))
    final = FinalPass(trainer, splits)
    for name in ("train", "valid", "test"):
        final.scores(name)
    final.confusion("test"), final.classes("test"), final.probabilities("test"), final.scores("test")
    assert sum(seen) == len(splits.train) + len(splits.valid) + len(splits.test)


def test_an_absent_split_has_no_figures(splits):
    trainer = _trainer(splits, 1)
    final = FinalPass(trainer, from_arrays(splits.train.x.numpy(), splits.train.y.numpy(), valid=0))
    assert final.scores("test") is None and final.confusion("test") is None and final.outputs("valid") is None


def test_a_run_pushes_each_split_through_once_after_training(splits, tmp_path, monkeypatch):
    """Per epoch the validation split, then at the end train, valid and test once each, the saved
    misclassified grid and confusion matrix included."""
    seen = []
    outputs = Group.outputs
    monkeypatch.setattr(Group, "outputs", lambda self, x: seen.append(len(x)) or outputs(self, x))
    cfg = load_config(None, ["train.epochs=2", "train.device=cpu", "model.hidden=[12]", "train.early_stopping=false",
                             f"out={str(tmp_path)!r}"])
    result = run_training(cfg, splits=splits)
    assert sum(seen) == 2 * len(splits.valid) + len(splits.train) + len(splits.valid) + len(splits.test)
    assert (result.run_dir / "misclassified.safetensors").is_file()
    assert sum(map(sum, result.metrics["confusion_matrix"])) == len(splits.test)
    assert torch.equal(result.test_probabilities(), result.final.probabilities("test")[0])
