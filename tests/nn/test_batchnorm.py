import pytest
import torch
from torch import nn

from deepfit.errors import ConfigError
from deepfit.nn import Affine, ModelSpec, batchnorm_options, build_model, fold_batchnorm, load_model, save_model


def _trained_stats(model: nn.Module, features: int) -> nn.Module:
    """Give every batch norm non-trivial moving averages and affine parameters, then switch to eval."""
    torch.manual_seed(1)
    model.train()
    with torch.no_grad():
        for _ in range(20):
            model(torch.randn(64, features) * 3 + 1)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.weight.uniform_(0.5, 2.0)
                m.bias.uniform_(-1.0, 1.0)
    return model.eval()


@pytest.mark.parametrize("norm", ["before", "after"])
@pytest.mark.parametrize("input_norm", [False, True])
def test_fold_batchnorm_matches_unfolded_outputs(norm, input_norm):
    torch.manual_seed(0)
    spec = ModelSpec(input_shape=(12,), num_outputs=3, hidden=[16, 8, 8], norm=norm, input_norm=input_norm, dropout=0.3)
    model = _trained_stats(build_model(spec), 12)
    folded = fold_batchnorm(model)
    x = torch.randn(256, 12) * 3 + 1
    assert torch.allclose(folded(x), model(x), atol=1e-5, rtol=0)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in folded.modules())
    assert not any(isinstance(m, Affine) for m in folded.modules())
    assert sum(isinstance(m, nn.Linear) for m in folded.modules()) == 4


def test_fold_batchnorm_leaves_the_model_unchanged_and_in_its_mode():
    model = _trained_stats(build_model(ModelSpec(input_shape=(6,), num_outputs=2, hidden=[5], norm="before")), 6)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fold_batchnorm(model)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert isinstance(model.hidden1.norm, nn.BatchNorm1d)


def test_batchnorm_after_the_activation_folds_into_the_next_linear_layer():
    torch.manual_seed(0)
    bn = nn.BatchNorm1d(4)
    model = _trained_stats(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), bn, nn.Linear(4, 2)), 3)
    folded = fold_batchnorm(model)
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    w, b = model[3].weight, model[3].bias
    assert [type(m) for m in folded] == [nn.Linear, nn.ReLU, nn.Linear]
    assert torch.allclose(folded[2].weight, w * scale, atol=1e-6)
    assert torch.allclose(folded[2].bias, b + w @ shift, atol=1e-6)


def test_batchnorm_with_no_linear_layer_to_fold_into_becomes_an_affine_layer():
    model = _trained_stats(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4)), 3)
    folded = fold_batchnorm(model)
    x = torch.randn(10, 3)
    assert isinstance(folded[2], Affine)
    assert torch.allclose(folded(x), model(x), atol=1e-6)


def test_batchnorm_momentum_follows_pytorch_convention():
    model = build_model(
        ModelSpec(input_shape=(2,), num_outputs=2, hidden=[3], norm="before", norm_momentum=0.01, norm_eps=1e-3)
    ).train()
    bn = model.hidden1.norm
    assert (bn.momentum, bn.eps) == (0.01, 1e-3)
    bn(torch.full((8, 3), 5.0))
    assert torch.allclose(bn.running_mean, torch.full((3,), 0.05))  # 0.99 * 0 + 0.01 * 5: Keras's 0.99


def test_input_norm_adds_a_batchnorm_on_the_flattened_inputs():
    model = build_model(ModelSpec(input_shape=(2, 3), num_outputs=2, hidden=[4], input_norm=True))
    assert isinstance(model.input_norm, nn.BatchNorm1d)
    assert model.input_norm.num_features == 6
    assert list(model._modules)[:2] == ["flatten", "input_norm"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"momentum": 0.0}, r"model\.norm_momentum: expected a number in \(0, 1\].*got 0\.0"),
        ({"momentum": 1.5}, r"model\.norm_momentum: .*Keras 0\.99 is 0\.01.*got 1\.5"),
        ({"eps": 0.0}, r"model\.norm_eps: expected a number > 0, got 0\.0"),
    ],
)
def test_bad_batchnorm_options_name_the_field(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        batchnorm_options(**kwargs)


def test_layer_init_overrides_one_layer_and_round_trips_through_model_json(tmp_path):
    spec = ModelSpec(
        input_shape=(50,),
        num_outputs=40,
        hidden=[40, 40],
        layer_init={"hidden2": "identity", "output": {"name": "constant", "value": 0.5}},
    )
    model = build_model(spec)
    assert torch.equal(model.hidden2.linear.weight, torch.eye(40))
    assert torch.equal(model.output.weight, torch.full((40, 40), 0.5))
    assert not torch.equal(model.hidden1.linear.weight[:, :40], torch.eye(40))
    save_model(model, spec, tmp_path)
    _, spec2, _, _ = load_model(tmp_path)
    assert spec2 == spec


def test_layer_init_with_an_unknown_layer_lists_the_valid_ones():
    with pytest.raises(
        ConfigError,
        match=r"model\.layer_init: unknown layer\(s\) \['hidden3'\]; valid: hidden1, "
        r"hidden2, output",
    ):
        build_model(ModelSpec(input_shape=(4,), num_outputs=2, hidden=[3, 3], layer_init={"hidden3": "zeros"}))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.layer_init.hidden1=orthogonl", r"model\.layer_init: .*unknown initializer 'orthogonl'; did you mean"),
        ("model.norm_momentum=0", r"model\.norm_momentum: Input should be greater than 0"),
        ("model.norm_eps=-1e-3", r"model\.norm_eps: Input should be greater than 0"),
    ],
)
def test_bad_batchnorm_and_init_config_names_the_field(override, message):
    from deepfit.config import load_config

    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])
