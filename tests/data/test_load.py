import inspect

import numpy as np
import pytest
import torch
from PIL import Image

from deepfit.data import DATASETS, from_arrays, load_data, make_splits
from deepfit.errors import ConfigError, DataError


@pytest.fixture
def dataset_options(tmp_path, write_mnist_dir):
    """For every registered dataset, the options that point it at a small fixture of 12 train samples."""
    npz = tmp_path / "d.npz"
    np.savez(npz, x_train=np.arange(24.0).reshape(12, 2), y_train=np.arange(12) % 3)
    csv = tmp_path / "d.csv"
    csv.write_text("label,a,b\n" + "".join(f"{i % 3},{i},{2 * i}\n" for i in range(12)))
    folder = write_mnist_dir(tmp_path / "mnist")
    np.save(tmp_path / "x_train.npy", np.arange(24.0).reshape(12, 2))
    np.save(tmp_path / "y_train.npy", np.arange(12) % 3)
    rng = np.random.default_rng(0)
    for i in range(12):
        (tmp_path / "images" / f"class{i % 3}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (4, 4), dtype=np.uint8)).save(tmp_path / "images" / f"class{i % 3}" /
                                                                            f"{i}.png")
    return {
        "fashion_mnist": {"dir": folder},
        # 12 samples left after the task split: 14 images hold 12 of task A, 60 hold 12 sandals and shirts
        "fashion_mnist_a": {"dir": write_mnist_dir(tmp_path / "mnist_a", n_train=14)},
        "fashion_mnist_b": {"dir": write_mnist_dir(tmp_path / "mnist_b", n_train=60)},
        "idx": {"dir": folder},
        "npz": {"path": npz},
        "csv": {"path": csv},
        "npy": {"path": tmp_path / "x_train.npy"},
        "images": {"dir": tmp_path / "images"},
    }


# "python" names data given from Python (run_training(cfg, data=...)), which no file holds
LOADABLE = [name for name in DATASETS.names() if name != "python"]


def test_every_registered_dataset_has_a_fixture(dataset_options):
    assert sorted(dataset_options) == LOADABLE


def test_data_given_from_python_cannot_be_loaded_by_name_and_says_how_to_pass_it():
    with pytest.raises(ConfigError, match=r"data\.name = 'python': this run's data was a Dataset or DataLoader given "
                                          r"from Python; pass it again: run_training\(cfg, data=\.\.\."):
        load_data("python")


@pytest.mark.parametrize("name", LOADABLE)
def test_every_dataset_loads_into_standardised_splits(name, dataset_options):
    splits = load_data(name, valid=2, test=0, **dataset_options[name])
    assert (len(splits.train), len(splits.valid)) == (10, 2)
    assert splits.train.y.dtype == torch.int64 and splits.num_classes >= 2  # 2: fashion_mnist_b
    assert splits.train.x.mean(dim=0).abs().max().item() < 1e-5


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_dataset_entry_has_a_summary(name):
    assert DATASETS.get(name).summary


@pytest.mark.parametrize("alias", ["fashion-mnist", "fmnist", "Fashion_MNIST"])
def test_fashion_mnist_aliases_resolve_to_one_entry(alias):
    assert DATASETS.canonical(alias) == "fashion_mnist"


def test_fashion_mnist_carries_class_names(dataset_options):
    splits = load_data("fmnist", valid=0, **dataset_options["fashion_mnist"])
    assert splits.class_names[0] == "T-shirt/top" and splits.num_classes == 10


def test_load_data_passes_csv_label_column_and_task(tmp_path):
    path = tmp_path / "houses.csv"
    path.write_text("rooms,price\n1,10.5\n2,20.0\n3,31.0\n")
    splits = load_data("csv", path=path, label_column="price", task="regression", valid=0, standardize=False)
    assert splits.train.y.tolist() == [10.5, 20.0, 31.0]
    assert splits.train.x[:, 0].tolist() == [1.0, 2.0, 3.0]
    assert splits.num_classes is None


def test_load_data_names_the_file_in_label_errors(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=np.zeros((3, 2)), y_train=[0.5, 0, 1])
    with pytest.raises(DataError, match=r"bad\.npz: train labels .* span \[0, 1\] \(e\.g\. 0\.5\), expected integers"):
        load_data("npz", path=path, valid=0)


def test_load_data_names_a_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"npz file .*gone\.npz not found"):
        load_data("npz", path=tmp_path / "gone.npz")


def test_load_data_rejects_an_option_the_source_does_not_take(tmp_path):
    with pytest.raises(ConfigError, match=r"dataset 'npz'.*unexpected keyword argument 'dir'"):
        load_data("npz", dir=tmp_path)


def test_load_data_suggests_the_nearest_dataset_name():
    with pytest.raises(ConfigError, match="unknown dataset 'nzp'; did you mean 'npz'"):
        load_data("nzp")


def test_load_data_and_make_splits_share_their_defaults():
    load_params = inspect.signature(load_data).parameters
    for name, param in inspect.signature(make_splits).parameters.items():
        if name in load_params and param.default is not inspect.Parameter.empty:
            assert load_params[name].default == param.default, name


def test_from_arrays_accepts_torch_tensors_and_leaves_them_unchanged():
    x = torch.arange(12, dtype=torch.float32).reshape(6, 2)
    y = torch.tensor([0, 1, 0, 1, 0, 1])
    splits = from_arrays(x, y, x[:2], y[:2], valid=2)
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (4, 2, 2)
    assert x[0].tolist() == [0.0, 1.0]
    assert splits.train.x.data_ptr() != x.data_ptr()


def test_from_arrays_passes_split_options():
    splits = from_arrays(np.zeros((5, 3)), np.zeros(5), valid=0, task="regression")
    assert splits.valid is None and splits.num_classes is None


def test_load_data_takes_a_folder_or_a_file_path_as_the_cli_does(dataset_options, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = load_data("images/", valid=0, test=0)  # "images" alone names the registered source
    assert folder.class_names == ["class0", "class1", "class2"] and len(folder.train) == 12
    folder = load_data(str(tmp_path / "images"), valid=0, test=0)
    assert folder.class_names == ["class0", "class1", "class2"] and len(folder.train) == 12
    table = load_data(tmp_path / "d.csv", valid=0, test=0)
    assert len(table.train) == 12 and table.input_shape == (2,)
    with pytest.raises(DataError, match=r"npz file nowhere/x\.npz not found"):
        load_data("nowhere/x.npz")
