import pytest
import torch
from torch import nn

from deepfit.data import TensorData
from deepfit.diagnose import GradientNormProbe, GradientNorms
from deepfit.train import Trainer, objective_for


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))


def test_gradient_norms_match_the_weight_gradients_and_hooks_are_removed():
    model = _net()
    with GradientNorms(model) as probe:
        probe.reset(steps=2)
        for _ in range(2):
            model.zero_grad()
            model(torch.randn(8, 4)).pow(2).sum().backward()
            if probe.passes[0] == 1:
                first = [model[0].weight.grad.norm().item(), model[2].weight.grad.norm().item()]
        stats = probe.read()
    last = [model[0].weight.grad.norm().item(), model[2].weight.grad.norm().item()]
    assert probe.names == ["0", "2"]
    assert stats["first"] == pytest.approx(first, rel=1e-5)
    assert stats["last"] == pytest.approx(last, rel=1e-5)
    assert stats["mean"] == pytest.approx([(a + b) / 2 for a, b in zip(first, last, strict=True)], rel=1e-5)
    assert not model[0].weight._backward_hooks


def test_gradient_norm_hooks_are_removed_after_an_exception():
    model = _net()
    with pytest.raises(RuntimeError, match="boom"), GradientNorms(model):
        raise RuntimeError("boom")
    assert not model[0].weight._backward_hooks and not model[2].weight._backward_hooks


def test_probe_records_init_and_each_epoch_during_fit():
    model = _net()
    x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    probe = GradientNormProbe()
    trainer = Trainer(
        model,
        objective_for("auto", "multiclass"),
        torch.optim.SGD(model.parameters(), lr=0.1),
        batch_size=16,
        callbacks=[probe],
    )
    trainer.fit(TensorData(x, y), epochs=2)
    rec = probe.record
    assert rec["layers"] == ["0", "2"]
    assert len(rec["init"]) == 2 and all(v > 0 for v in rec["init"])
    assert set(rec["epochs"]) == {"1", "2"}
    assert all(len(rec["epochs"][e]["last"]) == 2 for e in ("1", "2"))
    assert not model[0].weight._backward_hooks
