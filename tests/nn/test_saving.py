"""Saving and loading a model without pickle (nn/saving.py): what is written, and each damaged file named."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from deepfit.errors import CheckpointError
from deepfit.nn import ModelSpec, build_model
from deepfit.nn.saving import FORMAT, load_model, save_model

SPEC = ModelSpec(input_shape=(6,), num_outputs=3, hidden=[5], norm="before")


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = build_model(SPEC)
    save_model(model, SPEC, tmp_path, extra={"task": "multiclass"}, tensors={"std": torch.full((6,), 2.0)})
    return tmp_path, model


def test_the_files_hold_the_spec_the_weights_and_the_extra_tensors_apart(saved):
    directory, model = saved
    meta = json.loads((directory / "model.json").read_text())
    assert (meta["format"], meta["version"], meta["task"]) == (FORMAT, 1, "multiclass")
    weights = load_file(str(directory / "model.safetensors"))
    assert set(weights) == set(model.state_dict()) | {"extra.std"}
    loaded, spec, _, extra = load_model(directory)
    assert spec == SPEC and not loaded.training and set(extra) == {"std"}
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value), name
    assert sorted(p.name for p in directory.iterdir()) == ["model.json", "model.safetensors"]  # no temporary left


def test_a_missing_weights_file_is_named(saved):
    directory, _ = saved
    (directory / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"model\.safetensors: not found; a saved model needs model\.json and"):
        load_model(directory)


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", r"model\.json: not valid JSON"),
    ("[1, 2]", r"model\.json: format 'a JSON list', expected 'deepfit\.model'"),
    ('{"format": "keras"}', r"model\.json: format 'keras', expected 'deepfit\.model'"),
    ('{"format": "deepfit.model"}', r"model\.json: the architecture in it cannot be built \(KeyError: 'spec'\)"),
    ('{"format": "deepfit.model", "spec": {"input_shape": [6]}}', r"model\.json: the architecture in it cannot be"),
    ('{"format": "deepfit.model", "spec": {"input_shape": [6], "num_outputs": 3, "activation": "nope"}}',
     r"model\.json: the architecture in it cannot be built \(.*nope"),
])
def test_a_damaged_model_json_is_a_checkpoint_error_naming_the_file(saved, text, message):
    directory, _ = saved
    (directory / "model.json").write_text(text)
    with pytest.raises(CheckpointError, match=message):
        load_model(directory)


def test_unreadable_weights_are_named(saved):
    directory, _ = saved
    (directory / "model.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match=r"model\.safetensors: unreadable weights"):
        load_model(directory)
