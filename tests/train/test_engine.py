"""The engine against plain PyTorch: padded batches, members trained at once, divergence, checkpoints."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from deepfit.data import TensorData, from_arrays
from deepfit.nn import ModelSpec, build_model
from deepfit.optim import build_optimizer
from deepfit.train import EarlyStopping, Trainer, UpdateRule, objective_for
from deepfit.train.engine import Group

N, BATCH = 230, 32  # 7 whole batches and a short one of 6


def _data(n: int = N, seed: int = 0) -> TensorData:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    x = (rng.normal(0, 2, size=(3, 6))[y] + rng.normal(size=(n, 6))).astype(np.float32)
    return from_arrays(x, y, valid=0).train


def _model(seed: int, **spec) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(ModelSpec((6,), 3, **{"hidden": [16, 8], **spec}))


def _torch_run(seed: int, data: TensorData, optimizer: str, params: dict, epochs: int, **spec) -> nn.Module:
    """The plain PyTorch loop with the short last batch as it is, the same shuffling as the engine's."""
    model = _model(seed, **spec)
    opt = build_optimizer(optimizer, model.parameters(), **params)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(data), generator=g)
        for start in range(0, len(data), BATCH):
            idx = perm[start : start + BATCH]
            opt.zero_grad()
            F.cross_entropy(model(data.x[idx]), data.y[idx]).backward()
            opt.step()
    return model


def _engine(seeds, optimizer, params, epochs, data, callbacks=(), **spec):
    models = [_model(s, **spec) for s in seeds]
    rules = [UpdateRule(optimizer, p) for p in params]
    trainer = Trainer(models, objective_for("auto", "multiclass"), rules, batch_size=BATCH, seed=list(seeds),
                      callbacks=list(callbacks), engine="eager")
    trainer.fit(data, epochs=epochs)
    return trainer


def _close(a: nn.Module, b: nn.Module, tol: float = 2e-6) -> None:
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(x.float(), y.float(), rtol=tol, atol=tol, msg=name)


@pytest.mark.parametrize("spec", [{}, {"norm": "before"}, {"norm": "after", "input_norm": True}],
                         ids=["plain", "batchnorm", "batchnorm-after"])
def test_the_padded_last_batch_gives_the_update_of_the_short_batch(spec):
    data = _data()
    trainer = _engine([3], "nadam", [{"lr": 0.01}], 3, data, **spec)
    assert trainer.group.order.steps == 8 and trainer.group.order.tail == 6
    _close(trainer.model, _torch_run(3, data, "nadam", {"lr": 0.01}, 3, **spec))


def test_members_trained_at_once_equal_their_single_runs():
    data = _data()
    params = [{"lr": 0.01}, {"lr": 0.003, "betas": [0.8, 0.99]}, {"lr": 0.02, "weight_decay": 0.01}]
    group = _engine([1, 2, 3], "nadam", params, 3, data)
    for k, (seed, p) in enumerate(zip([1, 2, 3], params, strict=True)):
        _close(group.models[k], _engine([seed], "nadam", [p], 3, data).model)
        _close(group.models[k], _torch_run(seed, data, "nadam", p, 3))


def test_each_member_stops_early_on_its_own_and_gets_its_best_weights_back():
    rng = np.random.default_rng(0)  # random labels: validation loss soon rises, at different epochs
    x, y = rng.normal(size=(300, 6)).astype(np.float32), rng.integers(0, 3, size=300)
    s = from_arrays(x, y, valid=100)
    models = [_model(k) for k in range(3)]
    stopper = EarlyStopping("val_loss", patience=1)
    rules = [UpdateRule("adam", {"lr": lr}) for lr in (0.05, 0.01, 1e-5)]
    trainer = Trainer(models, objective_for("auto", "multiclass"), rules, batch_size=BATCH, seed=[0, 1, 2],
                      callbacks=[stopper])
    trainer.fit(s.train, s.valid, epochs=25)
    lengths = [len(m.history) for m in trainer.members]
    assert trainer.members[0].status == "stopped" and lengths[0] < lengths[2]
    assert len(set(lengths)) > 1  # they stopped at different epochs
    for m, model in zip(trainer.members, trainer.evaluate(s.valid), strict=True):
        es = m.callbacks[0]
        assert es is not stopper and es.best_epoch == min(m.history["val_loss"].index(es.best) + 1, 99)
        if m.status == "stopped":
            assert model["loss"] == pytest.approx(es.best, rel=1e-5)


def test_a_diverging_member_stops_keeps_finite_weights_and_leaves_the_others_alone():
    data = _data()
    params = [{"lr": 0.01}, {"lr": 1e6}, {"lr": 0.05}]
    group = _engine([1, 2, 3], "sgd", params, 3, data)
    bad = group.members[1]
    assert bad.status == "diverged" and bad.diverged["epoch"] == 1 and len(bad.history) == 1
    assert not math.isfinite(bad.history["loss"][0]) and "lower learning rate" in bad.note
    _close(group.models[1], _model(2))  # back to the weights it had before the epoch it diverged in
    for k in (0, 2):
        assert group.members[k].training and len(group.members[k].history) == 3
        _close(group.models[k], _torch_run([1, 2, 3][k], data, "sgd", params[k], 3))


def test_a_single_diverging_model_stops_at_the_end_of_the_epoch():
    trainer = _engine([0], "sgd", [{"lr": 1e6}], 5, _data())
    assert trainer.stop_training and trainer.epoch == 1
    assert trainer.members[0].diverged == {"epoch": 1, "last_finite_loss": None}
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_members_resume_from_a_checkpoint_exactly():
    data = _data()
    full = _engine([1, 2], "adam", [{"lr": 0.01}, {"lr": 0.002}], 4, data, dropout=0.2)
    first = _engine([1, 2], "adam", [{"lr": 0.01}, {"lr": 0.002}], 2, data, dropout=0.2)
    state = copy.deepcopy(first.state_dict())
    models = [_model(s, dropout=0.2) for s in (1, 2)]
    resumed = Trainer(models, objective_for("auto", "multiclass"),
                      [UpdateRule("adam", {"lr": lr}) for lr in (0.01, 0.002)], batch_size=BATCH, seed=[1, 2])
    resumed.load_state_dict(state)
    resumed.fit(data, epochs=4)
    for a, b in zip(full.models, resumed.models, strict=True):
        for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
            assert torch.equal(x, y)
    assert [len(h) for h in resumed.histories] == [4, 4]


def test_a_group_reads_the_device_once_per_epoch(host_reads):
    data = _data()
    models = [_model(s) for s in (1, 2, 3)]
    trainer = Trainer(models, objective_for("auto", "multiclass"), UpdateRule("nadam", {"lr": 0.01}),
                      batch_size=BATCH, seed=[1, 2, 3], engine="eager")
    trainer.fit(data, epochs=2)  # 8 steps an epoch
    assert len(host_reads) == 2 and all(c.endswith("engine.py") for c in host_reads)  # one read per epoch


def test_drop_last_leaves_the_short_batch_out():
    data = _data()
    trainer = Trainer(_model(0), objective_for("auto", "multiclass"), UpdateRule("sgd"), batch_size=BATCH,
                      drop_last=True)
    trainer.fit(data, epochs=2)
    assert trainer.group.order.steps == N // BATCH and trainer.step == 2 * (N // BATCH)
    assert trainer.history["acc"][0] * (N // BATCH * BATCH) == pytest.approx(
        round(trainer.history["acc"][0] * (N // BATCH * BATCH)))


def test_a_model_with_its_own_forward_trains_the_short_batch_as_torch_does():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(5)
            self.a, self.bn, self.b = nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Linear(8, 3)

        def forward(self, x):
            return self.b(F.relu(self.bn(self.a(x))))

    data = _data()
    ours = Net()
    # SGD: a bias before batch norm gets gradients of rounding noise, which Adam-like rules would amplify
    trainer = Trainer(ours, objective_for("auto", "multiclass"), UpdateRule("momentum", {"lr": 0.05}),
                      batch_size=BATCH, seed=5)
    assert not trainer.group.stacked
    trainer.fit(data, epochs=2)
    assert not trainer.group.padded  # batch norm cannot be weighted from outside: the short batch runs as it is
    ref = Net()
    opt = build_optimizer("momentum", ref.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(5)
    for _ in range(2):
        perm = torch.randperm(len(data), generator=g)
        for start in range(0, len(data), BATCH):
            idx = perm[start : start + BATCH]
            opt.zero_grad()
            F.cross_entropy(ref(data.x[idx]), data.y[idx]).backward()
            opt.step()
    _close(ours, ref)


def test_the_functional_step_is_the_autograd_step():
    """`Group.functional_step` (torch.func.grad over the flat tensors, what `compile` traces as one graph)
    updates weights, batch-norm statistics, optimizer state and sums as the autograd step does."""
    data = _data()
    spec = {"norm": "before", "activation": "prelu"}
    rules = [UpdateRule("nadam", {"lr": lr}, penalty={"name": "l2", "l2": 1e-3}, clip="global_norm",
                        clip_threshold=0.5, max_norm={"max_value": 1.5}) for lr in (0.01, 0.003)]
    groups = []
    for _ in range(2):
        models = [_model(s, dropout=rate, **spec) for s, rate in ((1, 0.1), (2, 0.3))]
        group = Group(models, objective_for("auto", "multiclass"), rules, torch.device("cpu"))
        group.start(data, BATCH, engine="eager")
        group.prepare_epoch([torch.Generator().manual_seed(s) for s in (1, 2)], 0, group.order.steps)
        groups.append(group)
    autograd, functional = groups
    assert functional.functional
    initial = functional.tensors.buffers.data.clone()
    for _ in range(functional.order.steps - 1):
        torch.manual_seed(5)  # the same dropout masks
        autograd.train_step()
        torch.manual_seed(5)
        functional.functional_step(functional.active_mask())
    for name in ("trainable", "buffers", "counters"):
        torch.testing.assert_close(getattr(functional.tensors, name).data, getattr(autograd.tensors, name).data,
                                   rtol=1e-6, atol=1e-6, msg=name)
    for key, value in autograd.update.state.items():
        torch.testing.assert_close(functional.update.state[key], value, rtol=1e-6, atol=1e-6, msg=key)
    torch.testing.assert_close(functional.sums, autograd.sums)
    assert not torch.equal(functional.tensors.buffers.data, initial)  # the forward pass moved the statistics


def test_compiled_steps_train_as_the_eager_ones():
    data = _data()
    eager = _engine([1, 2], "nadam", [{"lr": 0.01}, {"lr": 0.003}], 2, data, norm="before")
    models = [_model(s, norm="before") for s in (1, 2)]
    compiled = Trainer(models, objective_for("auto", "multiclass"),
                       [UpdateRule("nadam", {"lr": lr}) for lr in (0.01, 0.003)], batch_size=BATCH, seed=[1, 2],
                       engine="compile")
    compiled.fit(data, epochs=2)
    assert compiled.engine_used == "compile"
    assert compiled.group._step.step.whole  # one graph: batch, forward, gradient, update
    for a, b in zip(eager.models, compiled.models, strict=True):
        _close(a, b, tol=1e-5)


def test_each_group_compiles_its_own_step_past_dynamos_recompile_limit():
    """Dynamo stops compiling a code object after `recompile_limit` entries and then runs it eagerly, without
    an error: groups in one process (a sweep, a study) must not share one, or the later ones train eagerly."""
    from torch._dynamo.utils import counters

    data = _data(64)
    with torch._dynamo.config.patch(recompile_limit=1):
        for k in (1, 2, 3):  # each group its own shapes: with one shared code object, 2 and 3 would run eagerly
            before = counters["stats"]["unique_graphs"]
            trainer = Trainer([_model(s) for s in range(k)] if k > 1 else _model(0),
                              objective_for("auto", "multiclass"), UpdateRule("sgd", {"lr": 0.01}),
                              batch_size=BATCH, seed=list(range(k)) if k > 1 else 0, engine="compile")
            trainer.fit(data, epochs=1)
            assert trainer.group._step.step.whole
            assert counters["stats"]["unique_graphs"] > before, f"the group of {k} ran its step uncompiled"


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("engine", ["compile", "graph"])
def test_cuda_backends_train_as_the_eager_step(engine):
    data = _data()
    outs = {}
    for name in ("eager", engine):
        models = [_model(s, norm="before", dropout=0.0) for s in (1, 2)]
        trainer = Trainer(models, objective_for("auto", "multiclass"),
                          [UpdateRule("nadam", {"lr": lr}) for lr in (0.01, 0.003)], batch_size=BATCH,
                          seed=[1, 2], device="cuda", engine=name)
        trainer.fit(data, epochs=3)
        assert trainer.engine_used == name
        outs[name] = [m.cpu() for m in trainer.models]
    for a, b in zip(outs["eager"], outs[engine], strict=True):
        _close(a, b, tol=1e-4)


def test_a_step_that_cannot_be_one_graph_runs_in_halves_with_one_warning():
    from deepfit.train.backends import _WholeStep

    class Untraceable:
        def active_mask(self):
            return None

        def functional_step(self, active):
            raise RuntimeError("cannot be traced")

    ran = []
    step = _WholeStep(Untraceable(), lambda: ran.append("halves"))
    with pytest.warns(RuntimeWarning, match="could not be compiled as one graph.*two halves"):
        step()
    step()  # the fallback is remembered: no second attempt, no second warning
    assert ran == ["halves", "halves"] and step.whole is False
