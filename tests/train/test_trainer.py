
import numpy as np
import pytest
import torch

from deepfit.data import from_arrays
from deepfit.nn import ModelSpec, build_model
from deepfit.optim import build_schedule
from deepfit.train import EarlyStopping, Trainer, UpdateRule, objective_for


def _splits(seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, size=(3, 12))
    y = rng.integers(0, 3, size=800)
    x = (centers[y] + rng.normal(0, 1.0, size=(800, 12))).astype(np.float32)
    return from_arrays(x[:600], y[:600], x[600:], y[600:], valid=100)


def _trainer(seed=0, lr=1e-2, schedule=None, schedule_interval="step", **kw):
    torch.manual_seed(seed)
    model = build_model(ModelSpec(input_shape=(12,), num_outputs=3, hidden=[16, 16]))
    rule = UpdateRule("nadam", {"lr": lr}, schedule=schedule, schedule_interval=schedule_interval)
    return Trainer(model, objective_for("auto", "multiclass"), rule, batch_size=32, seed=seed, engine="eager", **kw)


def test_fit_learns_separable_blobs():
    s = _splits()
    trainer = _trainer()
    history = trainer.fit(s.train, s.valid, epochs=5)
    assert len(history) == 5
    assert history["loss"][-1] < history["loss"][0] / 2
    assert trainer.evaluate(s.test)["acc"] > 0.9
    assert set(history.columns) >= {"epoch", "loss", "acc", "val_loss", "val_acc", "lr", "epoch_time_s"}


def test_training_accuracy_is_counted_over_every_sample():
    s = _splits()
    trainer = _trainer()
    trainer.fit(s.train, None, epochs=1)
    acc = trainer.history["acc"][0]
    assert 0 <= acc <= 1
    assert acc * len(s.train) == pytest.approx(round(acc * len(s.train)))  # a count over 500 samples


def test_same_seed_gives_bit_identical_weights_on_cpu():
    s = _splits()
    a, b = _trainer(seed=3), _trainer(seed=3)
    a.fit(s.train, s.valid, epochs=3)
    b.fit(s.train, s.valid, epochs=3)
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k
    c = _trainer(seed=4)
    c.fit(s.train, s.valid, epochs=3)
    assert not torch.equal(a.model.hidden1.linear.weight, c.model.hidden1.linear.weight)


def test_early_stopping_stops_and_restores_best_weights():
    rng = np.random.default_rng(0)  # random labels: the net memorises train, so val_loss soon rises
    x, y = rng.normal(size=(400, 12)).astype(np.float32), rng.integers(0, 3, size=400)
    s = from_arrays(x, y, valid=100)
    es = EarlyStopping("val_loss", patience=1, restore_best=True)
    trainer = _trainer(callbacks=[es])
    trainer.fit(s.train, s.valid, epochs=40)
    assert trainer.epoch < 40
    assert trainer.epoch - es.best_epoch == 1  # patience 1: stops on the first epoch without improvement (Keras)
    assert trainer.evaluate(s.valid)["loss"] == pytest.approx(es.best, rel=1e-5)


def test_epoch_schedule_sets_lr_per_epoch():
    s = _splits()
    trainer = _trainer(lr=0.01, schedule=build_schedule("exponential", 0.01, s=1), schedule_interval="epoch")
    trainer.fit(s.train, None, epochs=3)
    assert trainer.history["lr"] == pytest.approx([0.01, 0.001, 0.0001])


def test_predict_returns_probabilities():
    s = _splits()
    trainer = _trainer()
    probs = trainer.predict(s.test.x)
    assert probs.shape == (len(s.test), 3)
    assert torch.allclose(probs.sum(1), torch.ones(len(s.test)))


def test_step_reads_nothing_back_per_batch(host_reads):
    s = _splits()
    trainer = _trainer()
    trainer.fit(s.train, None, epochs=2)  # 16 batches an epoch
    assert len(host_reads) == 2  # one read per epoch, none per batch
    assert all(c.endswith("engine.py") for c in host_reads)


def test_binary_task_counts_accuracy_from_one_logit():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 5)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    s = from_arrays(x[:500], y[:500], x[500:], y[500:], valid=100, task="binary")
    torch.manual_seed(0)
    model = build_model(ModelSpec(input_shape=(5,), num_outputs=1, hidden=[8]))
    trainer = Trainer(model, objective_for("auto", "binary"), UpdateRule("nadam", {"lr": 1e-2}), batch_size=32)
    history = trainer.fit(s.train, s.valid, epochs=10)
    assert history["acc"][-1] > 0.9
    assert trainer.evaluate(s.test)["acc"] > 0.85
    assert trainer.predict(s.test.x).shape == (100,)
