import pytest
import torch
from torch import nn

from deepfit.data import TensorData
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Trainer, UpdateRule, objective_for
from deepfit.transfer import cache_features, cacheable_layers, freeze, is_deterministic, split_frozen


def _model(**kw):
    torch.manual_seed(0)
    return build_model(ModelSpec(input_shape=(6,), num_outputs=3, hidden=[16, 12, 8], **kw))


def test_only_frozen_deterministic_leading_layers_are_cached():
    model = _model()
    assert cacheable_layers(model) == []
    freeze(model, ["hidden1", "hidden2"])
    assert cacheable_layers(model) == ["hidden1", "hidden2"]
    dropped = _model(dropout=0.3)
    freeze(dropped, ["hidden1"])
    assert cacheable_layers(dropped) == []
    assert not is_deterministic(nn.RReLU()) and is_deterministic(nn.Dropout(0.0))


def test_unfrozen_batchnorm_is_not_deterministic_but_frozen_batchnorm_is():
    model = _model(norm="before")
    assert not is_deterministic(model.hidden1)
    freeze(model, "hidden1")
    assert is_deterministic(model.hidden1)


def _fit(model, data, cached):
    trained = model
    if cached:
        lower, trained = split_frozen(model)
        data = TensorData(cache_features(lower, data.x), data.y)
    rule = UpdateRule("sgd", {"lr": 0.1, "momentum": 0.9})
    trainer = Trainer(trained, objective_for("auto", "multiclass"), rule, batch_size=16, seed=3)
    trainer.fit(data, epochs=3)
    return trainer.history


def test_training_on_cached_features_equals_the_uncached_path():
    g = torch.Generator().manual_seed(0)
    data = TensorData(torch.randn(100, 6, generator=g), torch.randint(0, 3, (100,), generator=g))
    a, b = _model(norm="after"), _model(norm="after")
    warmup = torch.randn(50, 6, generator=g) + 1
    for m in (a, b):
        m.train()
        m(warmup)  # non-trivial running statistics in the frozen BN
        freeze(m, ["hidden1", "hidden2"])
    ha, hb = _fit(a, data, cached=False), _fit(b, data, cached=True)
    # the same arithmetic up to float rounding: the frozen layers' outputs come from batched matrix products
    # in one path and from the cache's plain forward pass in the other
    for k, v in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[k], v, rtol=1e-4, atol=1e-5)
    assert ha["loss"] == pytest.approx(hb["loss"], rel=1e-5)
    assert not torch.equal(a.output.weight, _model(norm="after").output.weight)
