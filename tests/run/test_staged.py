import numpy as np
import pytest
import torch

from deepfit.config import config_from_dict
from deepfit.data import from_arrays
from deepfit.errors import CheckpointError, ConfigError, ShapeError
from deepfit.nn import ModelSpec, build_model, save_model
from deepfit.run.staged import fit_staged, restandardize, start_from_saved
from deepfit.transfer import frozen_layers

REUSED = ["hidden1", "hidden2"]


def _splits(seed=0, features=12):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, size=(3, features))
    y = rng.integers(0, 3, size=500)
    x = (centers[y] + rng.normal(0, 1.0, size=(500, features))).astype(np.float32) * 4 + 2
    return from_arrays(x[:400], y[:400], x[400:], y[400:], valid=100)


def _model(norm="none"):
    torch.manual_seed(0)
    return build_model(ModelSpec(input_shape=(12,), num_outputs=3, hidden=[16, 16], norm=norm))


def _fit(model, epochs, **transfer):
    s = _splits()
    cfg = config_from_dict({
        "optimizer": {"name": "nadam", "lr": 0.01},
        "train": {"epochs": epochs, "batch_size": 32, "seed": 1, "early_stopping": False, "engine": "eager"},
        "transfer": {"source": "unused", "freeze_epochs": 2, **transfer},
    })
    return fit_staged(cfg, model, s, torch.device("cpu"), [], REUSED)


def test_stage_one_trains_only_the_head_and_keeps_no_state_for_frozen_layers():
    model = _model()
    w = model.hidden1.linear.weight.clone()
    head = model.output.weight.clone()
    trainer = _fit(model, epochs=2)
    assert torch.equal(model.hidden1.linear.weight, w)
    assert not torch.equal(model.output.weight, head)
    trained = {seg.name for seg in trainer.group.tensors.trainable.segments}
    assert trained == {"output.weight", "output.bias"}  # neither gradients nor optimizer state for the rest


def test_unfreezing_trains_the_reused_layers_at_their_own_rate():
    model = _model()
    w = model.hidden1.linear.weight.clone()
    trainer = _fit(model, epochs=4, lr_factor=0.1)
    assert len(trainer.history) == 4 and frozen_layers(model) == []
    assert not torch.equal(model.hidden1.linear.weight, w)
    factors = sorted(f for _, _, f in trainer.group.tensors.groups)
    assert factors == [pytest.approx(0.1), 1.0]
    assert trainer.history["epoch"] == [1, 2, 3, 4] and trainer.step == 4 * 10  # stage 2 continued stage 1


def test_unfreeze_top_k_keeps_the_lower_reused_layers_frozen():
    model = _model()
    _fit(model, epochs=3, unfreeze=1)
    assert frozen_layers(model) == ["hidden1"]
    with pytest.raises(ConfigError, match=r"count in \[0, 2\].*got 3"):
        _fit(_model(), epochs=3, unfreeze=3)


@pytest.mark.parametrize("norm", ["none", "after"])
def test_cached_stage_one_gives_the_same_model_as_uncached(norm):
    a, b = _model(norm), _model(norm)
    ha, hb = _fit(a, epochs=3, cache_features=False).history, _fit(b, epochs=3, cache_features=True).history
    assert ha["val_loss"] == pytest.approx(hb["val_loss"], rel=1e-4)
    for k, v in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[k], v, rtol=1e-4, atol=1e-5)


def test_a_run_that_ends_frozen_on_cached_features_evaluates_the_whole_model():
    a, b = _model(), _model()
    cached = _fit(a, epochs=2, cache_features=True, unfreeze="none")
    plain = _fit(b, epochs=2, cache_features=False, unfreeze="none")
    assert cached.model is a and len(cached.history) == 2 and cached.step == plain.step
    s = _splits()
    want = plain.group.evaluate(s.test, 64)
    got = cached.group.evaluate(s.test, 64)  # raw inputs, through the frozen layers and the trained head
    assert got[0]["loss"] == pytest.approx(want[0]["loss"], rel=1e-4)


def _saved(tmp_path, splits, hidden=(16, 8)):
    torch.manual_seed(0)
    spec = ModelSpec(input_shape=tuple(splits.input_shape), num_outputs=3, hidden=list(hidden))
    model = build_model(spec)
    save_model(model, spec, tmp_path / "src", tensors={"mean": splits.mean, "std": splits.std})
    return model, spec


def test_start_from_saved_reuses_layers_and_the_source_standardisation(tmp_path):
    source_splits = _splits(0)
    model, _ = _saved(tmp_path, source_splits)
    new_splits = _splits(1)
    spec = ModelSpec(input_shape=(12,), num_outputs=2, hidden=[99])
    new, new_spec, scaled, reused = start_from_saved(str(tmp_path / "src"), spec, new_splits, reuse=1)
    assert reused == ["hidden1"] and new_spec.hidden == [16] and new_spec.num_outputs == 2
    assert torch.equal(new.hidden1.linear.weight, model.hidden1.linear.weight)
    raw = new_splits.train.x * new_splits.std + new_splits.mean
    torch.testing.assert_close(scaled.train.x, (raw - source_splits.mean) / source_splits.std)
    assert torch.equal(scaled.mean, source_splits.mean)


def test_start_from_saved_errors_name_what_was_asked_and_what_exists(tmp_path):
    splits = _splits()
    spec = ModelSpec(input_shape=(12,), num_outputs=3)
    with pytest.raises(CheckpointError, match=r"model\.json: not found"):
        start_from_saved(str(tmp_path / "nowhere"), spec, splits)
    _saved(tmp_path, splits)
    with pytest.raises(ConfigError, match=r"asked for 3 hidden layers, the source model has 2 \(\[16, 8\]\)"):
        start_from_saved(str(tmp_path / "src"), spec, splits, reuse=3)
    other = _splits(features=10)
    with pytest.raises(ShapeError, match=r"takes inputs of shape \(12,\), the data has \(10,\)"):
        start_from_saved(str(tmp_path / "src"), ModelSpec(input_shape=(10,), num_outputs=3), other)


def test_restandardize_to_raw_inputs_undoes_the_scaling():
    s = _splits()
    raw = restandardize(s, None, None)
    torch.testing.assert_close(raw.test.x, s.test.x * s.std + s.mean)
    assert raw.mean is None


def test_restandardize_keeps_the_split_record_and_the_original_labels():
    from dataclasses import replace

    s = replace(_splits(), label_values=[3, 7, 9])
    raw = restandardize(s, None, None)
    assert raw.valid_split is s.valid_split and raw.label_values == [3, 7, 9]
