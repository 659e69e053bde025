import numpy as np
import pytest

from deepfit.data import DATASETS, load_data
from deepfit.data.sources import RawDataset
from deepfit.data.tasks import SHIRT, TASK_A_CLASSES, TASK_B_CLASSES, select_classes, shuffle_after
from deepfit.errors import ConfigError

FMNIST = "/usr/share/datasets/fashion-mnist"


def _raw(n=100):
    y = np.arange(n) % 10
    x = np.arange(n, dtype=np.uint8)[:, None].repeat(4, 1)  # row i holds value i: rows stay traceable
    return RawDataset(x, y.astype(np.uint8), x[:30], y[:30].astype(np.uint8), None)


def test_task_a_drops_sandals_and_shirts_and_relabels_0_to_7_in_file_order():
    a = select_classes(_raw(), TASK_A_CLASSES)
    assert set(a.y_train.tolist()) == set(range(8)) and len(a.y_train) == 80
    assert a.x_train[:, 0].tolist() == [i for i in range(100) if i % 10 not in (5, 6)]
    assert a.y_train[a.x_train[:, 0] == 7].tolist() == [5]  # sneaker (7) becomes 5
    assert a.class_names[5] == "Sneaker" and len(a.y_test) == 24


def test_task_b_is_shirt_versus_sandal():
    b = select_classes(_raw(), TASK_B_CLASSES, binary_positive=SHIRT)
    assert b.x_train[:, 0].tolist() == [i for i in range(100) if i % 10 in (5, 6)]
    assert b.y_train.tolist() == [int(i % 10 == 6) for i in range(100) if i % 10 in (5, 6)]
    assert b.class_names == ["Sandal", "Shirt"]


def test_sample_seed_shuffles_only_the_rows_after_the_holdout():
    raw = _raw()
    a, b = shuffle_after(raw, 10, 1), shuffle_after(raw, 10, 2)
    assert a.x_train[:10, 0].tolist() == list(range(10)) == b.x_train[:10, 0].tolist()
    assert sorted(a.x_train[10:, 0].tolist()) == list(range(10, 100))
    assert a.x_train[10:30, 0].tolist() != b.x_train[10:30, 0].tolist()
    assert np.array_equal(a.y_train, raw.y_train[a.x_train[:, 0]])
    assert shuffle_after(raw, 10, None) is raw
    with pytest.raises(ConfigError, match=r"holdout: expected a count in \[0, 99\], got 100"):
        shuffle_after(raw, 100, 0)


def test_task_datasets_are_registered():
    assert {"fashion_mnist_a", "fashion_mnist_b"} <= set(DATASETS.names())


@pytest.mark.skipif(not __import__("os").path.isdir(FMNIST), reason="Fashion-MNIST not installed")
def test_task_b_on_fashion_mnist_keeps_200_training_images_and_full_valid_and_test():
    s = load_data("fashion_mnist_b", dir=FMNIST, valid=5000, subset=200, task="binary", options={"sample_seed": 3})
    assert (len(s.train), len(s.valid), len(s.test)) == (200, 5000, 2000)
    assert 0.3 < float(s.train.y.mean()) < 0.7
