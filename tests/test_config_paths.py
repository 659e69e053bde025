import json
from pathlib import Path

import numpy as np
import pytest

from deepfit.cli.main import main
from deepfit.config import load_config
from deepfit.config_paths import absolute_paths

CNN = Path(__file__).resolve().parents[1] / "configs" / "cnn.toml"


def test_paths_in_a_config_file_are_relative_to_its_folder_and_command_line_paths_to_the_cwd(tmp_path, monkeypatch):
    folder = tmp_path / "project" / "configs"
    folder.mkdir(parents=True)
    (folder / "run.toml").write_text('[data]\nname = "csv"\npath = "../data/cells.csv"\n'
                                     '[model]\nfactory = "nets/my.py:build"\n')
    monkeypatch.chdir(tmp_path)
    cfg = load_config(folder / "run.toml")
    assert cfg.data.path == str(tmp_path / "project" / "data" / "cells.csv")
    assert cfg.model.factory == f"{folder / 'nets' / 'my.py'}:build"
    cfg = load_config(folder / "run.toml", ["data.path=mine.csv", "data.labels=~/y.npy"])
    assert cfg.data.path == str(tmp_path / "mine.csv")
    assert cfg.data.labels == str(Path.home() / "y.npy")


def test_absolute_paths_module_factories_and_zoo_names_are_kept():
    data = {"data": {"dir": "/abs/photos"}, "model": {"factory": "my_package.nets:build"},
            "transfer": {"source": "fashion_a"}}
    assert absolute_paths(data, "/elsewhere") == data


def test_a_transfer_source_that_is_a_folder_beside_the_config_becomes_absolute(tmp_path):
    (tmp_path / "runs" / "a").mkdir(parents=True)
    out = absolute_paths({"transfer": {"source": "runs/a"}, "data": {"options": {"test_dir": "t"}}}, tmp_path)
    assert out["transfer"]["source"] == str(tmp_path / "runs" / "a")
    assert out["data"]["options"]["test_dir"] == str(tmp_path / "t")


@pytest.mark.slow
def test_the_cnn_config_trains_from_another_directory_and_records_absolute_paths(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (60, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "tiny.npz", x_train=x, y_train=np.arange(60) % 10)
    monkeypatch.chdir(tmp_path)
    code = main(["train", "--config", str(CNN), "--data", "tiny.npz", "--epochs", "1", "--quiet", "--out", "runs",
                 "--set", "train.threads=1", "--set", "train.engine=eager"])
    assert code == 0
    (run,) = (tmp_path / "runs").iterdir()
    model = json.loads((run / "model.json").read_text())
    assert model["spec"]["factory"].endswith("cnn.py:build")
    text = (run / "config.toml").read_text()
    assert f'path = "{tmp_path / "tiny.npz"}"' in text
