import math

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from deepfit.train import CALLBACKS
from deepfit.train.callbacks import ProbedTensorBoard, TensorBoard
from deepfit.train.callbacks.base import probes


def _events(log_dir):
    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def test_tensorboard_scalars_equal_the_history_and_weights_have_histograms(tmp_path, fit_blobs):
    trainer, history = fit_blobs([CALLBACKS.build("tensorboard", tmp_path / "tb")], probe_every=4)
    events = _events(tmp_path / "tb")
    for key in ("loss", "acc", "val_loss", "val_acc", "lr"):
        logged = events.Scalars(key)
        assert [e.step for e in logged] == [1, 2, 3]
        assert [e.value for e in logged] == pytest.approx(history[key], rel=1e-6)
    names = [n for n, _ in trainer.model.named_parameters()]
    assert sorted(events.Tags()["histograms"]) == sorted(f"weights/{n}" for n in names)
    last = events.Histograms(f"weights/{names[0]}")[-1]
    assert last.step == 3
    assert last.histogram_value.num == trainer.model.get_parameter(names[0]).numel()
    assert not any(t.startswith("grad_norm/") for t in events.Tags()["scalars"])  # no probes were asked for


def test_tensorboard_without_probes_does_not_make_the_trainer_probe(tmp_path):
    assert not probes(TensorBoard(tmp_path))
    assert probes(CALLBACKS.build("tensorboard", tmp_path, probes=True))


def test_probed_tensorboard_writes_each_layers_gradient_norm_at_every_probe(tmp_path, fit_blobs):
    fit_blobs([ProbedTensorBoard(tmp_path / "tb")], epochs=2, probe_every=4)
    events = _events(tmp_path / "tb")
    tags = sorted(t for t in events.Tags()["scalars"] if t.startswith("grad_norm/"))
    assert tags == ["grad_norm/hidden1.linear", "grad_norm/output"]
    steps = [e.step for e in events.Scalars("grad_norm/output")]
    # 300 samples / 32 = 10 steps per epoch: before the first step, every 4 steps and at each epoch's end
    assert steps == [0, 4, 8, 10, 12, 16, 20]
    assert all(e.value > 0 and math.isfinite(e.value) for e in events.Scalars("grad_norm/output"))
