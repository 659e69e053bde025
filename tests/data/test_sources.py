import numpy as np
import pytest

from deepfit.data import DATASETS, find_idx_files, read_idx_dir, write_idx
from deepfit.errors import ConfigError, DataError


@pytest.mark.parametrize("gz", [True, False])
def test_idx_source_reads_mnist_layout_raw_or_gz(tmp_path, write_mnist_dir, mnist_arrays, gz):
    dir = write_mnist_dir(tmp_path / "d", gz=gz)
    raw = DATASETS.build("idx", dir=dir)
    expected = mnist_arrays()
    np.testing.assert_array_equal(raw.x_train, expected["train_images"])
    np.testing.assert_array_equal(raw.y_train, expected["train_labels"])
    np.testing.assert_array_equal(raw.x_test, expected["test_images"])
    np.testing.assert_array_equal(raw.y_test, expected["test_labels"])
    assert raw.class_names is None


def test_idx_source_accepts_dotted_idx_names(tmp_path, mnist_arrays):
    arrays = mnist_arrays()
    write_idx(tmp_path / "train-images.idx3-ubyte", arrays["train_images"])
    write_idx(tmp_path / "train-labels.idx1-ubyte.gz", arrays["train_labels"])
    raw = read_idx_dir(tmp_path)
    assert raw.x_train.shape == (12, 4, 4)
    assert raw.x_test is None and raw.y_test is None


def test_find_idx_files_prefers_uncompressed_copy(tmp_path, write_mnist_dir):
    write_mnist_dir(tmp_path, gz=True)
    write_mnist_dir(tmp_path, gz=False)
    assert find_idx_files(tmp_path)["train_images"].name == "train-images-idx3-ubyte"


def test_idx_source_names_folder_and_missing_training_file(tmp_path, write_mnist_dir):
    dir = write_mnist_dir(tmp_path / "d")
    (dir / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"IDX directory .*d lacks train-labels-idx1-ubyte\[\.gz\]"):
        read_idx_dir(dir)


def test_idx_source_rejects_half_a_test_pair(tmp_path, write_mnist_dir):
    dir = write_mnist_dir(tmp_path / "d")
    (dir / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"lacks t10k-images-idx3-ubyte\[\.gz\]"):
        read_idx_dir(dir)


def test_idx_source_names_missing_folder(tmp_path):
    with pytest.raises(DataError, match=r"IDX directory .*nowhere not found"):
        read_idx_dir(tmp_path / "nowhere")


def test_idx_source_needs_a_directory():
    with pytest.raises(ConfigError, match="dataset 'idx' needs a directory"):
        DATASETS.build("idx")


def test_idx_source_rejects_images_and_labels_of_different_counts(tmp_path, write_mnist_dir):
    dir = write_mnist_dir(tmp_path / "d")
    write_idx(dir / "train-labels-idx1-ubyte.gz", np.zeros(7, dtype=np.uint8))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz holds 12 samples but .* holds 7 labels"):
        read_idx_dir(dir)


def test_idx_source_rejects_labels_with_more_than_one_dimension(tmp_path, write_mnist_dir):
    dir = write_mnist_dir(tmp_path / "d")
    write_idx(dir / "train-labels-idx1-ubyte.gz", np.zeros((12, 2), dtype=np.uint8))
    with pytest.raises(DataError, match=r"expected labels of shape \(n,\), found shape \(12, 2\)"):
        read_idx_dir(dir)
