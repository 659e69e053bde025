"""Datasets as standardised train/valid/test tensors: Fashion-MNIST, IDX folders, .npz, .csv, .npy pairs, image
folders, arrays and torch Datasets.

`load_data` is the entry point; the sources it knows are the entries of `DATASETS`.
"""

from deepfit.data import (
    images,  # noqa: F401  (registers the image-folder source)
    npy,  # noqa: F401  (registers the .npy pair source)
    tabular,  # noqa: F401  (registers the npz and csv sources)
    tasks,  # noqa: F401  (registers the task A/B split of Fashion-MNIST)
)
from deepfit.data.download import download_file
from deepfit.data.fashion_mnist import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_SHA256,
    FASHION_MNIST_URL,
    Location,
    default_cache_dir,
    find_fashion_mnist,
    locate_fashion_mnist,
)
from deepfit.data.idx import read_idx, write_idx
from deepfit.data.labels import TASKS
from deepfit.data.load import from_arrays, load_data
from deepfit.data.sources import DATASETS, RawDataset, find_idx_files, read_idx_dir
from deepfit.data.splits import make_splits
from deepfit.data.tensors import Splits, TensorData
from deepfit.data.torch_data import from_torch

__all__ = [
    "DATASETS",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_SHA256",
    "FASHION_MNIST_URL",
    "TASKS",
    "Location",
    "RawDataset",
    "Splits",
    "TensorData",
    "default_cache_dir",
    "download_file",
    "find_fashion_mnist",
    "find_idx_files",
    "from_arrays",
    "from_torch",
    "load_data",
    "locate_fashion_mnist",
    "make_splits",
    "read_idx",
    "read_idx_dir",
    "write_idx",
]
