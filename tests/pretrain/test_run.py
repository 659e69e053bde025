import json

import numpy as np
import pytest

from deepfit.config import load_config
from deepfit.nn import load_model
from deepfit.pretrain import PRETRAINERS, run_pretraining


@pytest.mark.parametrize("method", PRETRAINERS.names())
def test_every_pretrainer_writes_a_model_directory_that_loads(method, tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=240)
    x = (rng.random((3, 10))[y] * 0.7 + rng.random((240, 10)) * 0.3).astype(np.float32)  # in [0, 1]
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y)
    sets = [f'data.path="{tmp_path / "d.npz"}"', 'data.name="npz"', "data.valid=40", "model.hidden=[6,4]",
            "train.epochs=1", 'train.device="cpu"']
    if method == "rbm":
        sets += ["data.standardize=false", 'model.activation="sigmoid"']
    run_dir = run_pretraining(load_config(None, sets), method, run_dir=tmp_path)
    model, spec, meta, _ = load_model(run_dir)
    assert spec.hidden == [6, 4] and meta["pretrain"] == method
    assert model.hidden2.linear.weight.shape == (4, 6)
    assert json.loads((run_dir / "pretrain.json").read_text())["layers"]
