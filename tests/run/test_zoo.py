"""The zoo catalogue: runs and architectures by name, read back from its JSON file, and `transfer --from NAME`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from tests.conftest import make_blobs
from torch import nn

from deepfit.cli.main import main
from deepfit.errors import CheckpointError, ConfigError
from deepfit.nn import load_model
from deepfit.run import zoo


def tiny_net() -> nn.Module:
    """A factory as a user would write one: `tests.run.test_zoo:tiny_net`."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


@pytest.fixture
def zoo_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPFIT_ZOO", str(tmp_path / "zoo"))
    return tmp_path / "zoo"


@pytest.fixture
def trained_run(tmp_path, blobs_npz):
    assert main(["train", "--data", str(blobs_npz), "--epochs", "2", "--set", "model.hidden=[16,8]", "--out",
                 str(tmp_path / "runs"), "--name", "blobs", "--quiet"]) == 0
    return next((tmp_path / "runs").glob("blobs-*"))


def test_a_run_is_registered_with_what_it_holds(zoo_dir, trained_run, capsys):
    assert main(["zoo", "add", "blobs_a", str(trained_run)]) == 0
    catalogue = json.loads((zoo_dir / "zoo.json").read_text())
    entry = catalogue["models"]["blobs_a"]
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert entry["kind"] == "run" and entry["path"] == str(trained_run.resolve())
    assert (entry["task"], entry["loss"], entry["data"]) == ("multiclass", "cross_entropy", "npz")
    assert entry["input_shape"] == [12]
    assert entry["accuracy"] == metrics["test"]["acc"]
    capsys.readouterr()
    assert main(["zoo", "list"]) == 0
    listed = capsys.readouterr().out
    assert "blobs_a" in listed and f"{metrics['test']['acc']:.4f}" in listed
    assert main(["zoo", "show", "blobs_a"]) == 0
    assert json.loads(capsys.readouterr().out)["path"] == str(trained_run.resolve())


def test_transfer_from_a_zoo_name_reuses_that_run(zoo_dir, trained_run, tmp_path):
    zoo.add_run("blobs_a", trained_run)
    x, y = make_blobs(300, classes=2, seed=5)
    np.savez(tmp_path / "b.npz", x_train=x[:240], y_train=y[:240], x_test=x[240:], y_test=y[240:])
    assert main(["transfer", "--from", "blobs_a", "--reuse", "1", "--freeze-epochs", "1", "--epochs", "1", "--data",
                 str(tmp_path / "b.npz"), "--out", str(tmp_path / "runs"), "--name", "dst", "--quiet"]) == 0
    source, _, _, _ = load_model(trained_run)
    model, spec, _, _ = load_model(next((tmp_path / "runs").glob("dst-*")))
    assert spec.hidden == [16] and spec.num_outputs == 2
    torch.testing.assert_close(model.hidden1.linear.weight, source.hidden1.linear.weight)


def test_an_architecture_is_registered_and_loaded_with_its_weights(zoo_dir, tmp_path):
    weights = {k: torch.randn_like(v) for k, v in tiny_net().state_dict().items()}
    save_file(weights, str(tmp_path / "tiny.safetensors"))
    assert main(["zoo", "add", "tiny", "--factory", "tests.run.test_zoo:tiny_net", "--weights",
                 str(tmp_path / "tiny.safetensors")]) == 0
    model = zoo.load_architecture(zoo.lookup("tiny"))
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, weights[k])


def test_weights_that_do_not_fit_the_architecture_are_refused_at_add(zoo_dir, tmp_path):
    save_file({"0.weight": torch.zeros(5, 4)}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(CheckpointError, match=r"does not fit factory tests\.run\.test_zoo:tiny_net"):
        zoo.add_architecture("tiny", "factory", "tests.run.test_zoo:tiny_net", tmp_path / "bad.safetensors")
    assert zoo.read_zoo() == {}


def test_a_pickled_pth_is_refused_with_the_conversion(zoo_dir, tmp_path, capsys):
    (tmp_path / "w.pth").write_bytes(b"\x80\x04")
    code = main(["zoo", "add", "r18", "--torchvision", "resnet18", "--weights", str(tmp_path / "w.pth")])
    assert code == 2
    err = capsys.readouterr().err
    assert "pickled torch file; deepfit loads no pickle" in err and "save_file(torch.load('w.pth'" in err


def test_remove_unregisters_and_unknown_names_list_the_registered(zoo_dir, trained_run, capsys):
    zoo.add_run("a", trained_run)
    zoo.add_run("b", trained_run)
    with pytest.raises(ConfigError, match="'a' is already registered"):
        zoo.add_run("a", trained_run)
    assert main(["zoo", "remove", "a"]) == 0
    assert sorted(zoo.read_zoo()) == ["b"]
    assert main(["zoo", "show", "a"]) == 2
    assert "no model named 'a'; registered: b" in capsys.readouterr().err


def test_an_architecture_name_is_refused_as_a_transfer_source(zoo_dir, tmp_path):
    save_file(tiny_net().state_dict(), str(tmp_path / "t.safetensors"))
    zoo.add_architecture("tiny", "factory", "tests.run.test_zoo:tiny_net", tmp_path / "t.safetensors")
    with pytest.raises(ConfigError, match="'tiny' is a factory architecture; transfer takes run directories"):
        zoo.resolve_source("tiny")


@pytest.mark.parametrize("source", ["torchvision", "timm"])
def test_torchvision_and_timm_architectures_are_built_without_pretrained_weights(zoo_dir, tmp_path, monkeypatch,
                                                                                source):
    """A stand-in module takes torchvision's and timm's place: the PyPI torchvision wheel does not load against
    the CPU torch build these machines install (its C++ operators are missing), and timm needs torchvision.
    What is checked is deepfit's side: the builder is asked for the architecture without any download, and the
    user's weights are loaded strictly."""
    import sys
    import types

    asked: list[tuple[str, dict]] = []

    def build(name: str, **kwargs):
        asked.append((name, kwargs))
        return tiny_net()

    module = types.ModuleType(source)
    if source == "torchvision":
        module.models = types.SimpleNamespace(get_model=build)
    else:
        module.create_model = build
    monkeypatch.setitem(sys.modules, source, module)
    weights = {k: torch.randn_like(v) for k, v in tiny_net().state_dict().items()}
    save_file(weights, str(tmp_path / "w.safetensors"))
    assert main(["zoo", "add", "net", f"--{source}", "resnet18", "--weights", str(tmp_path / "w.safetensors")]) == 0
    model = zoo.load_architecture(zoo.lookup("net"))
    assert asked[0] == ("resnet18", {"weights": None} if source == "torchvision" else {"pretrained": False})
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items()) and not model.training


@pytest.mark.parametrize("width", [80, 120])
def test_zoo_list_fits_the_width_and_prints_every_path_whole(zoo_dir, monkeypatch, width):
    import io

    from rich.console import Console

    from deepfit.cli import zoo as zoo_cmd

    path = "/home/someone/experiments/deepfit/runs/fashion-mnist-guidelines-selu-20261208-013305"
    zoo._write({"selu": {"kind": "run", "path": path, "task": "multiclass", "loss": "cross_entropy",
                         "data": "fashion_mnist", "accuracy": 0.8812, "input_shape": [28, 28]},
                "old": {"kind": "run", "path": "/r/old", "task": "binary_cross_entropy", "data": "npz",
                        "accuracy": None, "input_shape": [12]}}, None)
    out = io.StringIO()
    monkeypatch.setattr(zoo_cmd, "console", Console(file=out, width=width, color_system=None))
    assert main(["zoo", "list"]) == 0
    lines = out.getvalue().splitlines()
    assert all(len(line) <= width for line in lines if not line.startswith(("zoo: ", "selu: ", "old: ")))
    assert sum(path in line for line in lines) == 1  # once, whole
    old = next(line for line in lines if line.replace("│", " ").split()[:1] == ["old"])
    assert "binary" in old.split() and "binary_cross_entropy" not in old  # a loss name read back as its task
