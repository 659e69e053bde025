import pytest
import torch

from deepfit.errors import CheckpointError, ConfigError
from deepfit.nn import DenseBlock, ModelSpec, build_model, load_model, save_model


def test_reference_network_has_the_chapter_shapes():
    model = build_model(ModelSpec(input_shape=(28, 28), num_outputs=10))
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 300), (300, 100), (100, 10)]
    assert model(torch.randn(5, 28, 28)).shape == (5, 10)
    assert all((m.bias == 0).all() for m in linears)


def test_norm_before_activation_drops_the_redundant_bias():
    block = DenseBlock(4, 3, torch.nn.ReLU(), norm="before")
    assert block.linear.bias is None
    assert isinstance(block.norm, torch.nn.BatchNorm1d)
    assert DenseBlock(4, 3, torch.nn.ReLU(), norm="after").linear.bias is not None


def test_dense_block_order_linear_norm_activation_dropout():
    block = DenseBlock(4, 3, torch.nn.ReLU(), norm="before", dropout=0.5).eval()
    x = torch.randn(6, 4)
    expected = torch.relu(block.norm(block.linear(x)))
    assert torch.allclose(block(x), expected)


def test_auto_init_uses_lecun_for_selu():
    torch.manual_seed(0)
    model = build_model(ModelSpec(input_shape=(1000,), num_outputs=2, hidden=[500], activation="selu", init="auto"))
    assert model.hidden1.linear.weight.var().item() == pytest.approx(1 / 1000, rel=0.05)


def test_unknown_initializer_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown initializer 'he_norml'; did you mean 'he_normal'"):
        build_model(ModelSpec(input_shape=(4,), num_outputs=2, init="he_norml"))


def test_save_and_load_round_trip_without_pickle(tmp_path):
    spec = ModelSpec(
        input_shape=(6,),
        num_outputs=3,
        hidden=[5, 4],
        activation={"name": "leaky_relu", "alpha": 0.2},
        norm="after",
    )
    model = build_model(spec).eval()
    save_model(model, spec, tmp_path, extra={"task": "cross_entropy"}, tensors={"mean": torch.ones(6)})
    loaded, spec2, meta, extra = load_model(tmp_path)
    x = torch.randn(3, 6)
    assert spec2 == spec
    assert torch.equal(loaded(x), model(x))
    assert meta["task"] == "cross_entropy"
    assert torch.equal(extra["mean"], torch.ones(6))


def test_load_reports_missing_and_mismatched_files(tmp_path):
    with pytest.raises(CheckpointError, match=r"model\.json: not found"):
        load_model(tmp_path)
    spec = ModelSpec(input_shape=(6,), num_outputs=3, hidden=[5])
    save_model(build_model(spec), spec, tmp_path)
    meta = (tmp_path / "model.json").read_text().replace('"hidden": [\n      5\n    ]', '"hidden": [7]')
    (tmp_path / "model.json").write_text(meta)
    with pytest.raises(CheckpointError, match="do not fit the architecture"):
        load_model(tmp_path)


@pytest.mark.parametrize(
    "options",
    [{}, {"norm": "before", "input_norm": True}, {"norm": "after", "hidden": [7, 5, 3]}, {"hidden": []}],
)
def test_parameter_count_matches_the_built_model(options):
    spec = ModelSpec(input_shape=(4, 3), num_outputs=5, **options)
    assert spec.parameter_count() == sum(p.numel() for p in build_model(spec).parameters())


@pytest.mark.parametrize(("hidden", "outputs"), [([1_000_000_000], 3), ([8], 1_000_000_001)])
def test_a_model_too_large_to_allocate_is_refused_saying_its_size(hidden, outputs):
    spec = ModelSpec(input_shape=(12,), num_outputs=outputs, hidden=hidden)
    count = f"{spec.parameter_count():,}"
    with pytest.raises(ConfigError, match=rf"model: the network 12 -> .* would have {count} parameters \(\d.*GB as "
                                          r"float32.*above the limit of 1,000,000,000; check model\.hidden"):
        build_model(spec)
