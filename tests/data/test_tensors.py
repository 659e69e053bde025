import numpy as np
import pytest
import torch

from deepfit.data import Splits, TensorData
from deepfit.data.splits import make_splits
from deepfit.errors import ShapeError


def _data(n: int) -> TensorData:
    return TensorData(torch.arange(n * 6, dtype=torch.float32).reshape(n, 2, 3), torch.arange(n))


def test_tensor_data_rejects_x_and_y_of_different_lengths_naming_both():
    with pytest.raises(ShapeError, match="x with 4 samples and y with 3 samples"):
        TensorData(torch.zeros(4, 2), torch.zeros(3))


def test_tensor_data_len_counts_samples():
    assert len(_data(5)) == 5


def test_take_selects_the_same_rows_of_x_and_y():
    data = _data(5)
    part = data.take(torch.tensor([4, 1]))
    assert part.y.tolist() == [4, 1]
    assert torch.equal(part.x, data.x[[4, 1]])
    assert data.take(slice(1, 3)).y.tolist() == [1, 2]


def test_to_returns_tensor_data_on_the_device():
    moved = _data(2).to("meta")
    assert moved.x.device.type == "meta" and moved.y.device.type == "meta"


def test_splits_to_moves_every_tensor_and_keeps_metadata():
    splits = Splits(_data(4), _data(2), None, ["a"], (2, 3), 1, torch.zeros(2, 3), torch.ones(2, 3))
    moved = splits.to("meta")
    tensors = [moved.train.x, moved.train.y, moved.valid.x, moved.mean, moved.std]
    assert all(t.device.type == "meta" for t in tensors)
    assert moved.test is None and moved.class_names == ["a"] and moved.input_shape == (2, 3)
    assert splits.train.x.device.type == "cpu"


def test_splits_rejects_a_split_whose_sample_shape_differs_from_input_shape():
    odd = TensorData(torch.zeros(3, 5), torch.zeros(3))
    with pytest.raises(ShapeError, match=r"test samples have shape \(5,\), expected input_shape \(2, 3\)"):
        Splits(_data(4), None, odd, None, (2, 3), 10)


def test_splits_print_shapes_dtypes_and_class_counts_not_their_values():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(60, 4, 4)).astype(np.uint8)
    y = np.repeat([0, 1, 2], 20)
    splits = make_splits(x[:50], y[:50], x[50:], y[50:], valid=10, seed=0)
    text = repr(splits)
    lines = text.splitlines()
    assert lines[0] == "Splits(input_shape=(4, 4), num_classes=3, standardized, uint8 pixels / 255"
    train, valid = splits.train.y.tolist(), splits.valid.y.tolist()
    assert lines[1] == (f"  train: TensorData(40 samples, x (40, 4, 4) float32, y (40,) int64, cpu), per class "
                        f"{[train.count(k) for k in range(3)]}")
    assert lines[2].startswith("  valid: TensorData(10 samples") and str([valid.count(k) for k in range(3)]) in lines[2]
    assert lines[3] == "  test: TensorData(10 samples, x (10, 4, 4) float32, y (10,) int64, cpu), per class [0, 0, 10])"
    assert len(text) < 400  # 60 samples or 60,000: a few lines either way
