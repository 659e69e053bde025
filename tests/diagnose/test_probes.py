import numpy as np
import pytest
import torch
from torch import nn

from deepfit.data import from_arrays
from deepfit.diagnose import GradientNormProbe, gradient_norms
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Callback, Trainer, UpdateRule, objective_for


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))


def test_gradient_norms_match_the_weight_gradients_and_leave_grad_alone():
    model = _net()
    x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    objective = objective_for("auto", "multiclass")
    names, norms = gradient_norms(model, objective, x, y)
    assert model[0].weight.grad is None
    objective.mean_loss(model(x), y).backward()
    assert names == ["0", "2"]
    assert norms == pytest.approx([model[0].weight.grad.norm().item(), model[2].weight.grad.norm().item()], rel=1e-5)


def _blobs():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=300)
    x = (rng.normal(0, 3, size=(3, 6))[y] + rng.normal(size=(300, 6))).astype(np.float32)
    return from_arrays(x, y, valid=0)


def test_probe_records_init_and_each_epoch_during_fit():
    s = _blobs()
    probe = GradientNormProbe()
    torch.manual_seed(0)
    model = build_model(ModelSpec((6,), 3, hidden=[8, 8]))
    trainer = Trainer(model, objective_for("auto", "multiclass"), UpdateRule("sgd", {"lr": 0.1}), batch_size=16,
                      callbacks=[probe], probe_every=5)
    trainer.fit(s.train, epochs=2)
    rec = probe.record
    assert rec["layers"] == ["hidden1.linear", "hidden2.linear", "output"]
    assert len(rec["init"]) == 3 and all(v > 0 for v in rec["init"])
    assert set(rec["epochs"]) == {"1", "2"}
    assert all(len(rec["epochs"][e]["last"]) == 3 for e in ("1", "2"))


class _Counter(Callback):
    def __init__(self):
        self.steps = []

    def on_probe(self, view, logs):
        self.steps.append(logs["step"])
        view.model.train()
        view.model(logs["x"])  # a forward pass in training mode moves batch-norm statistics
        torch.rand(3)  # and draws from the global RNG


def test_probe_event_fires_every_n_steps_and_at_epoch_ends_leaving_training_unchanged():
    s = _blobs()  # 300 samples, batch 32: 10 steps an epoch

    def run(callbacks):
        torch.manual_seed(1)
        model = build_model(ModelSpec((6,), 3, hidden=[8], norm="before", dropout=0.3))
        trainer = Trainer(model, objective_for("auto", "multiclass"), UpdateRule("adam"), batch_size=32,
                          callbacks=callbacks, probe_every=4, seed=1)
        trainer.fit(s.train, epochs=2)
        return model.state_dict()

    counter = _Counter()
    probed, plain = run([counter]), run([])
    assert counter.steps == [0, 4, 8, 10, 12, 16, 20]
    for k, v in plain.items():
        assert torch.equal(probed[k], v), k  # weights, running statistics and dropout masks alike


def test_probes_train_nothing_themselves():
    x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    model = _net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = Trainer(model, objective_for("auto", "multiclass"))
    with trainer.probing():
        gradient_norms(model, trainer.objective, x, y)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
