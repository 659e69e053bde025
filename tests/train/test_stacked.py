"""The stacked forward pass: K members as one, equal to each member's own forward."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from deepfit.errors import ConfigError
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Trainer, UpdateRule, objective_for
from deepfit.train.stacked import ALPHA, NotStackable, Pass, StackedNet


def _members(*specs: dict) -> list[nn.Module]:
    out = []
    for k, extra in enumerate(specs):
        torch.manual_seed(k)
        out.append(build_model(ModelSpec((5, 2), 3, **{"hidden": [8, 6], **extra})))
    return out


def _group(models):
    return Trainer(models, objective_for("auto", "multiclass"), seed=list(range(len(models)))).group


@pytest.mark.parametrize(
    "specs",
    [
        [{}, {}, {}],
        [{"activation": "relu"}, {"activation": "elu"}, {"activation": "selu", "init": "lecun_normal"}],
        [{"norm": "before"}, {"norm": "before"}],
        [{"norm": "after", "dropout": 0.3}, {"norm": "after", "dropout": 0.0}],
        [{"activation": "prelu"}, {"activation": "prelu"}],
        [{"input_norm": True, "dropout": [0.1, 0.2]}, {"input_norm": True, "dropout": [0.5, 0.0]}],
    ],
    ids=["plain", "activations", "batchnorm", "bn-after-dropout", "prelu", "input-norm"],
)
def test_evaluation_outputs_equal_each_members_own_forward(specs):
    models = _members(*specs)
    for m in models:  # non-trivial batch-norm statistics
        m.train()
        m(torch.randn(64, 5, 2) * 3 + 1)
        m.eval()
    x = torch.randn(20, 5, 2)
    want = [m(x) for m in models]
    got = _group(models).outputs(x)  # (K, batch, outputs), the input shared by every member
    for k, w in enumerate(want):
        torch.testing.assert_close(got[k], w, rtol=1e-5, atol=1e-6)


def test_training_pass_with_weights_matches_each_member_on_its_real_rows():
    models = _members({"norm": "before", "dropout": 0.0}, {"norm": "before", "activation": "elu"})
    group = _group(models)
    x = torch.randn(2, 10, 5, 2)  # each member its own batch
    w = torch.tensor([1.0] * 7 + [0.0] * 3)  # the last three rows are padding
    out = group.net(x, Pass(True, w))
    for k, m in enumerate(models):
        m.train()  # the member's own modules hold views of the same weights
        torch.testing.assert_close(out[k, :7], m(x[k, :7]), rtol=1e-5, atol=1e-5)


def test_alpha_dropout_per_member_follows_torchs_affine_correction():
    """Member rates 0.2 and 0.5 at once: each unit is either a * x + ALPHA * a * p (kept) or a * ALPHA * (p - 1)."""
    models = _members({"activation": "selu", "dropout": 0.2, "dropout_kind": "alpha"},
                      {"activation": "selu", "dropout": 0.5, "dropout_kind": "alpha"})
    group = _group(models)
    op = next(o for o in group.net.ops if "alpha" in o.__qualname__)
    x = torch.randn(2, 4000, 6)
    y, _ = op(x, False, Pass(True))
    for k, p in enumerate((0.2, 0.5)):
        a = 1 / ((ALPHA**2 * p + 1) * (1 - p)) ** 0.5
        dropped = torch.isclose(y[k], torch.full_like(y[k], a * ALPHA * (p - 1)), atol=1e-6)
        assert abs(float(dropped.float().mean()) - p) < 0.03
        torch.testing.assert_close(y[k][~dropped], (a * x[k] + ALPHA * a * p)[~dropped], rtol=1e-5, atol=1e-5)
    # the same rate everywhere uses torch's own alpha dropout
    same = _group(_members(*[{"activation": "selu", "dropout": 0.2, "dropout_kind": "alpha"}] * 2))
    torch.manual_seed(3)
    got, _ = next(o for o in same.net.ops if "alpha" in o.__qualname__)(x, False, Pass(True))
    torch.manual_seed(3)
    torch.testing.assert_close(got, F.alpha_dropout(x, 0.2, training=True))


def test_dropout_per_member_keeps_each_members_rate():
    models = _members({"dropout": 0.0}, {"dropout": 0.5})
    op = next(o for o in _group(models).net.ops if "dropout" in o.__qualname__)
    x = torch.ones(2, 5000, 4)
    y, _ = op(x, False, Pass(True))
    assert torch.equal(y[0], x[0])  # rate 0: untouched
    assert abs(float((y[1] == 0).float().mean()) - 0.5) < 0.03 and float(y[1].max()) == pytest.approx(2.0)


def test_a_model_with_its_own_forward_is_not_stackable_and_trains_alone():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 3)

        def forward(self, x):
            return self.a(x) * 2

    with pytest.raises(NotStackable, match="cannot be stacked"):
        StackedNet([Twice()], lambda name: torch.zeros(1), torch.device("cpu"))
    trainer = Trainer(Twice(), objective_for("auto", "multiclass"), UpdateRule("sgd"))
    assert not trainer.group.stacked
    with pytest.raises(ConfigError, match="cannot be trained as members of one group"):
        Trainer([Twice(), Twice()], objective_for("auto", "multiclass"), UpdateRule("sgd"), seed=[0, 1])


def test_members_of_different_shapes_are_refused_naming_the_difference():
    a, b = _members({}, {"hidden": [8, 7]})
    with pytest.raises(ConfigError, match="member 1 differs from member 0 in its parameters"):
        Trainer([a, b], objective_for("auto", "multiclass"), UpdateRule("sgd"), seed=[0, 1])


@pytest.mark.parametrize("running_var", ["unbiased", "biased"])
def test_training_pass_updates_each_members_moving_variance_as_its_own_batch_norm(running_var):
    spec = {"norm": "before", "norm_momentum": 0.1, "norm_running_var": running_var}
    models, alone = _members(spec, spec), _members(spec, spec)
    group = _group(models)
    x = torch.randn(2, 10, 5, 2) * 2 + 1  # each member its own batch
    group.net(x, Pass(True, None))
    for k, m in enumerate(alone):
        m.train()
        m(x[k])
        torch.testing.assert_close(models[k].hidden1.norm.running_var, m.hidden1.norm.running_var)
    biased = torch.var(models[0].hidden1.linear(x[0].flatten(1)).detach(), dim=0, correction=0)
    expected = 0.9 * 1.0 + 0.1 * biased * (1 if running_var == "biased" else 10 / 9)
    torch.testing.assert_close(models[0].hidden1.norm.running_var, expected)
