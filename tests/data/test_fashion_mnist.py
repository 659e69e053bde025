import hashlib
from pathlib import Path

import numpy as np
import pytest

from deepfit.data import (
    DATASETS,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_SHA256,
    find_fashion_mnist,
    load_data,
    locate_fashion_mnist,
)
from deepfit.errors import DataError

SYSTEM_FMNIST = Path("/usr/share/datasets/fashion-mnist")
GZ_NAMES = list(FASHION_MNIST_SHA256)


@pytest.fixture
def places(tmp_path):
    """Candidate folders under tmp_path; none exists until a test writes it."""
    return {name: tmp_path / name for name in ("data_dir", "env", "system", "cache")}


def _find(places, **options):
    options.setdefault("progress", False)
    return find_fashion_mnist(system_dir=places["system"], cache_dir=places["cache"], **options)


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (("data_dir", "env", "system", "cache"), "data_dir"),
        (("env", "system", "cache"), "env"),
        (("system", "cache"), "system"),
        (("cache",), "cache"),
    ],
)
def test_resolution_order_is_explicit_dir_env_var_system_then_cache(
    places, write_mnist_dir, monkeypatch, present, expected
):
    for name in present:
        write_mnist_dir(places[name])
    if "env" in present:
        monkeypatch.setenv("DEEPFIT_DATA", str(places["env"]))
    data_dir = places["data_dir"] if "data_dir" in present else None
    assert _find(places, data_dir=data_dir, download=False) == places[expected]


def test_uncompressed_files_count_as_the_dataset(places, write_mnist_dir):
    write_mnist_dir(places["system"], gz=False)
    assert _find(places, download=False) == places["system"]


def test_explicit_dir_missing_files_is_an_error_even_when_system_copy_exists(places, write_mnist_dir):
    write_mnist_dir(places["system"])
    write_mnist_dir(places["data_dir"])
    (places["data_dir"] / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"folder .*data_dir \(from data_dir / --data-dir\) lacks t10k-labels"):
        _find(places, data_dir=places["data_dir"])


def test_env_var_folder_that_does_not_exist_is_an_error(places, write_mnist_dir, monkeypatch):
    write_mnist_dir(places["system"])
    monkeypatch.setenv("DEEPFIT_DATA", str(places["env"]))
    with pytest.raises(DataError, match=r"folder .*env \(from \$DEEPFIT_DATA\) does not exist; it must hold"):
        _find(places)


def test_locate_lists_every_candidate_in_order_with_missing_files(places, write_mnist_dir, monkeypatch):
    write_mnist_dir(places["cache"])
    monkeypatch.setenv("DEEPFIT_DATA", str(places["env"]))
    found = locate_fashion_mnist(places["data_dir"], system_dir=places["system"], cache_dir=places["cache"])
    assert [(loc.source, loc.path, loc.complete) for loc in found] == [
        ("data_dir", places["data_dir"], False),
        ("DEEPFIT_DATA", places["env"], False),
        ("system", places["system"], False),
        ("cache", places["cache"], True),
    ]
    assert len(found[0].missing) == 4


def test_default_cache_follows_xdg_cache_home(tmp_path):
    cache = locate_fashion_mnist()[-1]
    assert cache.source == "cache"
    assert cache.path == tmp_path / "xdg-cache" / "deepfit" / "fashion-mnist"


def _publish(http_server, write_mnist_dir, tmp_path) -> dict[str, str]:
    """Serve fixture Fashion-MNIST files; returns their SHA-256 by file name."""
    write_mnist_dir(http_server.root)
    return {name: hashlib.sha256((http_server.root / name).read_bytes()).hexdigest() for name in GZ_NAMES}


def test_download_fills_the_cache_when_no_folder_holds_the_data(
    places, http_server, write_mnist_dir, mnist_arrays, tmp_path
):
    hashes = _publish(http_server, write_mnist_dir, tmp_path)
    found = _find(places, base_url=http_server.url, sha256=hashes, progress=True)
    assert found == places["cache"]
    assert sorted(p.name for p in found.iterdir()) == sorted(GZ_NAMES)
    for name in GZ_NAMES:
        assert (found / name).read_bytes() == (http_server.root / name).read_bytes()
    raw = DATASETS.build("fashion_mnist", cache_dir=found, system_dir=places["system"])
    np.testing.assert_array_equal(raw.x_train, mnist_arrays()["train_images"])


def test_download_fetches_only_files_the_cache_lacks(places, http_server, write_mnist_dir, tmp_path):
    hashes = _publish(http_server, write_mnist_dir, tmp_path)
    places["cache"].mkdir()
    for name in GZ_NAMES[:3]:
        (places["cache"] / name).write_bytes((http_server.root / name).read_bytes())
    _find(places, base_url=http_server.url, sha256=hashes)
    assert http_server.requests == [f"/{GZ_NAMES[3]}"]


def test_download_with_wrong_checksum_leaves_file_out_of_cache(places, http_server, write_mnist_dir, tmp_path):
    hashes = _publish(http_server, write_mnist_dir, tmp_path)
    actual = hashes["train-labels-idx1-ubyte.gz"]
    wrong = {**hashes, "train-labels-idx1-ubyte.gz": "ab" * 32}
    with pytest.raises(DataError) as info:
        _find(places, base_url=http_server.url, sha256=wrong)
    assert f"train-labels-idx1-ubyte.gz downloaded from {http_server.url}" in str(info.value)
    assert f"has SHA-256 {actual}, expected {'ab' * 32}" in str(info.value)
    assert not (places["cache"] / "train-labels-idx1-ubyte.gz").exists()
    assert sorted(p.name for p in places["cache"].iterdir()) == ["train-images-idx3-ubyte.gz"]


def test_when_every_source_fails_one_error_says_how_to_get_the_data(places, http_server):
    with pytest.raises(DataError) as info:
        _find(places, base_url=http_server.url)
    message = str(info.value)
    assert f"Fashion-MNIST not found in {places['system']} (system), {places['cache']} (cache)" in message
    assert "downloading http://127.0.0.1:" in message and "failed: HTTP 404" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "--data-dir DIR or set DEEPFIT_DATA=DIR" in message
    assert "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz" in message


def test_disabled_download_is_named_in_the_error(places):
    with pytest.raises(DataError, match=r"and downloading is disabled\. Install it with `apt-get install"):
        _find(places, download=False)


def test_official_checksums_cover_the_four_files_of_the_official_url():
    assert sorted(FASHION_MNIST_SHA256) == sorted(
        ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz"]
    )  # fmt: skip
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in FASHION_MNIST_SHA256.values())


@pytest.mark.skipif(not SYSTEM_FMNIST.exists(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_loads_from_the_system_folder_with_gerons_split():
    splits = load_data()  # conftest clears $DEEPFIT_DATA and the cache, so this resolves to the system folder
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (55000, 5000, 10000)
    assert splits.input_shape == (28, 28) and splits.train.x.shape == (55000, 28, 28)
    assert splits.num_classes == 10 and splits.class_names == list(FASHION_MNIST_CLASSES)
    all_labels = [splits.train.y, splits.valid.y, splits.test.y]
    assert all(set(y.unique().tolist()) == set(range(10)) for y in all_labels)
    unscaled = load_data(valid=0, standardize=False)
    assert (len(unscaled.train), len(unscaled.test)) == (60000, 10000)
    assert float(unscaled.train.x.min()) == 0.0 and float(unscaled.train.x.max()) == 1.0
