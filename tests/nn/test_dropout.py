import json

import pytest
import torch
from torch import nn

from deepfit.errors import ConfigError
from deepfit.nn import DROPOUTS, ModelSpec, build_dropout, build_model, mc_dropout, mc_predict
from deepfit.nn.build import dropout_rates


@pytest.mark.parametrize("kind", DROPOUTS.names())
def test_dropout_kind_is_identity_at_inference_and_keeps_the_mean_in_training(kind):
    torch.manual_seed(0)
    layer = build_dropout(kind, 0.3)
    x = torch.randn(200_000) if kind == "alpha" else torch.ones(200_000)
    assert torch.equal(layer.eval()(x), x)
    y = layer.train()(x)
    assert not torch.equal(y, x)
    assert abs(float(y.mean() - x.mean())) < 0.02


@pytest.mark.parametrize("kind", DROPOUTS.names())
def test_rate_zero_builds_no_layer(kind):
    assert isinstance(build_dropout(kind, 0.0), nn.Identity)


def test_standard_dropout_scales_survivors_by_one_over_keep_probability():
    torch.manual_seed(0)
    y = build_dropout("standard", 0.25).train()(torch.ones(1000))
    values = y.unique()
    assert len(values) == 2 and values[0] == 0.0
    assert float(values[1]) == pytest.approx(1 / 0.75)


def test_alpha_dropout_keeps_mean_and_variance_of_standard_normal_inputs():
    torch.manual_seed(0)
    y = build_dropout("alpha", 0.2).train()(torch.randn(500_000))
    assert float(y.mean()) == pytest.approx(0.0, abs=0.01)
    assert float(y.var()) == pytest.approx(1.0, abs=0.02)


def test_per_layer_rates_and_input_dropout_are_built_where_asked():
    model = build_model(ModelSpec((4, 4), 3, hidden=[8, 6], dropout=[0.1, 0.4], input_dropout=0.2))
    assert model.input_dropout.p == 0.2
    assert (model.hidden1.dropout.p, model.hidden2.dropout.p) == (0.1, 0.4)


def test_alpha_kind_puts_alpha_dropout_in_every_block():
    model = build_model(ModelSpec((4,), 3, hidden=[8, 6], activation="selu", dropout=0.1, dropout_kind="alpha"))
    kinds = {type(m) for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd)}
    assert kinds == {nn.AlphaDropout}


def test_spec_with_dropout_lists_round_trips_through_json_and_old_specs_still_load():
    spec = ModelSpec((4,), 3, hidden=[8, 6], dropout=[0.1, 0.4], input_dropout=0.2, dropout_kind="alpha")
    assert ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    old = {
        "input_shape": [4],
        "num_outputs": 3,
        "hidden": [8],
        "activation": "relu",
        "init": "he_normal",
        "norm": "none",
        "dropout": 0.5,
    }
    assert ModelSpec.from_dict(old).dropout_kind == "standard"


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (ModelSpec((4,), 3, hidden=[8], dropout=1.0), r"model.dropout: a dropout rate must be in \[0, 1\), got 1.0"),
        (ModelSpec((4,), 3, hidden=[8], dropout=-0.1), r"model.dropout: .* got -0.1"),
        (ModelSpec((4,), 3, hidden=[8, 4], dropout=[0.1]), "expected one rate or 2"),
        (ModelSpec((4,), 3, hidden=[8], input_dropout=1.5), "model.input_dropout: .* got 1.5"),
        (ModelSpec((4,), 3, hidden=[8], dropout=0.1, dropout_kind="gauss"), "unknown dropout kind 'gauss'"),
    ],
)
def test_bad_dropout_is_a_config_error(spec, match):
    with pytest.raises(ConfigError, match=match):
        dropout_rates(spec)
        build_model(spec)


def _bn_model():
    torch.manual_seed(0)
    model = build_model(ModelSpec((6,), 3, hidden=[16, 8], norm="after", dropout=0.3))
    model.train()
    model(torch.randn(64, 6))  # running statistics away from their initial values
    return model.eval()


def test_mc_dropout_trains_only_dropout_layers_and_restores_modes():
    model = _bn_model()
    with mc_dropout(model):
        assert all(m.training for m in model.modules() if isinstance(m, nn.Dropout))
        assert not any(m.training for m in model.modules() if isinstance(m, nn.BatchNorm1d))
    assert not any(m.training for m in model.modules())


def test_mc_predict_leaves_batch_norm_statistics_alone_and_is_seeded():
    model = _bn_model()
    stats = [b.running_mean.clone() for b in model.modules() if isinstance(b, nn.BatchNorm1d)]
    x = torch.randn(10, 6)
    a = mc_predict(model, x, lambda z: z.softmax(1), 1000, seed=3)
    b = mc_predict(model, x, lambda z: z.softmax(1), 1000, seed=4, max_rows=250)  # 25 passes per forward
    after = [b.running_mean for b in model.modules() if isinstance(b, nn.BatchNorm1d)]
    assert all(torch.equal(s, t) for s, t in zip(stats, after, strict=True))
    assert torch.allclose(a.mean, b.mean, atol=0.05)
    assert torch.equal(a.mean, mc_predict(model, x, lambda z: z.softmax(1), 1000, seed=3).mean)
    assert not torch.equal(a.mean, b.mean)
    assert torch.allclose(a.mean.sum(1), torch.ones(10), atol=1e-5)
    assert (a.std > 0).all()
    assert (a.entropy > 0).all() and (a.entropy <= torch.log(torch.tensor(3.0)) + 1e-5).all()


def test_mc_predict_matches_a_loop_of_passes_with_the_same_masks():
    torch.manual_seed(0)
    model = build_model(ModelSpec((5,), 4, hidden=[12], dropout=0.5)).eval()
    x = torch.randn(7, 5)
    got = mc_predict(model, x, lambda z: z.softmax(1), 6, seed=1)
    torch.manual_seed(1)
    with mc_dropout(model), torch.no_grad():
        passes = model(x.repeat(6, 1)).softmax(1).reshape(6, 7, 4)  # the same masks in the same order
    assert torch.allclose(got.mean, passes.mean(0), atol=1e-6)
    assert torch.allclose(got.std, passes.std(0), atol=1e-5)


def test_mc_predict_without_dropout_has_zero_std():
    model = build_model(ModelSpec((5,), 4, hidden=[12])).eval()
    out = mc_predict(model, torch.randn(3, 5), lambda z: z.softmax(1), 4)
    assert torch.allclose(out.std, torch.zeros_like(out.std), atol=1e-6)


@pytest.mark.parametrize("samples", [0, -2, 1.5])
def test_mc_samples_below_one_is_a_config_error(samples):
    model = build_model(ModelSpec((5,), 4, hidden=[12], dropout=0.5))
    with pytest.raises(ConfigError, match="mc_samples must be an integer >= 1"):
        mc_predict(model, torch.randn(3, 5), lambda z: z.softmax(1), samples)
