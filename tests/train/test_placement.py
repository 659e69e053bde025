"""Training from host memory (streamed batches) against training from the device: the same run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from deepfit.data import TensorData, from_arrays
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Trainer, UpdateRule, objective_for
from deepfit.train.placement import data_bytes, place, should_stream


def _data(n: int = 230, seed: int = 0) -> TensorData:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    x = (rng.normal(0, 2, size=(3, 6))[y] + rng.normal(size=(n, 6))).astype(np.float32)
    return from_arrays(x, y, valid=0).train


def _model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(ModelSpec((6,), 3, hidden=[16, 8], dropout=0.2))


def _fit(device: str, stream: bool | None, engine: str = "eager", seeds=(0,)) -> Trainer:
    models = [_model(s) for s in seeds]
    trainer = Trainer(models if len(models) > 1 else models[0], objective_for("auto", "multiclass"),
                      UpdateRule("nadam", {"lr": 1e-2}), batch_size=32, seed=list(seeds) if len(seeds) > 1 else 0,
                      device=device, engine=engine, stream=stream)
    trainer.fit(_data(), _data(60, seed=1), epochs=3)
    return trainer


def test_the_choice_follows_the_option_then_the_accelerators_free_memory():
    data = _data()
    need = data_bytes(data)
    assert need == 230 * 6 * 4 + 230 * 8  # float32 inputs, int64 labels
    cuda = torch.device("cuda")  # a device object only: nothing is allocated on it
    assert should_stream(data, cuda, None, free=10 * need) is False
    assert should_stream(data, cuda, None, free=need) is True  # more than half of what is free
    assert should_stream(data, torch.device("cpu"), None, free=0) is False  # host memory is the device's
    assert should_stream(data, cuda, False, free=0) is False and should_stream(data, torch.device("cpu"), True)


def test_a_streamed_run_equals_the_on_device_run_bit_for_bit():
    on_device, streamed = _fit("cpu", False), _fit("cpu", True)
    assert (on_device.streamed, streamed.streamed) == (False, True)
    for (name, a), b in zip(on_device.model.state_dict().items(), streamed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert on_device.history.rows == [
        {**r, "epoch_time_s": a["epoch_time_s"]} for r, a in zip(streamed.history.rows, on_device.history.rows,
                                                                   strict=True)]


def test_streamed_members_train_as_they_would_from_the_device():
    on_device, streamed = _fit("cpu", False, seeds=(0, 1)), _fit("cpu", True, seeds=(0, 1))
    for a, b in zip(on_device.models, streamed.models, strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_a_compiled_step_on_streamed_data_says_it_runs_eagerly():
    with pytest.warns(RuntimeWarning, match="steps on data streamed from host memory run eagerly"):
        trainer = _fit("cpu", True, engine="compile")
    assert trainer.engine_used == "eager"


def test_place_pins_host_memory_only_for_cuda_and_moves_otherwise():
    data = _data()
    assert place(data, torch.device("cpu"), False).x.device.type == "cpu"
    host = place(data, torch.device("cpu"), True)
    assert torch.equal(host.x, data.x) and not host.x.is_pinned()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_a_streamed_run_matches_the_on_device_run():
    on_device, streamed = _fit("cuda", False), _fit("cuda", True)
    assert streamed.streamed and not on_device.streamed
    for a, b in zip(on_device.model.state_dict().values(), streamed.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_a_run_with_train_stream_records_it_and_ends_as_the_run_without():
    from deepfit.config import config_from_dict
    from deepfit.run import run_training

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=300)
    x = (rng.normal(0, 2, size=(3, 6))[y] + rng.normal(size=(300, 6))).astype(np.float32)
    metrics = []
    for stream in (True, False):
        cfg = config_from_dict({"model": {"hidden": [8]}, "data": {"valid": 50},
                                "train": {"epochs": 2, "engine": "eager", "stream": stream, "threads": 1}})
        metrics.append(run_training(cfg, save=False, splits=from_arrays(x[:250], y[:250], x[250:], y[250:],
                                                                         valid=50)).metrics)
    assert metrics[0]["streamed"] is True and metrics[1]["streamed"] is False
    assert metrics[0]["test"] == metrics[1]["test"] and metrics[0]["valid"] == metrics[1]["valid"]
