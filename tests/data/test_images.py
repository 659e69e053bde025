"""Image folders in the ImageFolder layout, read with Pillow: class names from the folders, grayscale or RGB,
resized to one shape, and errors for an empty folder, an unreadable image and mixed sizes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from deepfit.data import load_data
from deepfit.errors import ConfigError, DataError


def _write(root, name, cls, pixels, mode=None):
    (root / cls).mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, dtype=np.uint8), mode).save(root / cls / name)


def test_classes_are_the_sorted_folder_names_and_pixels_are_read_as_written(tmp_path):
    _write(tmp_path, "a.png", "shirt", np.full((4, 5), 200))
    _write(tmp_path, "b.png", "bag", np.full((4, 5), 10))
    _write(tmp_path, "c.png", "bag", np.arange(20).reshape(4, 5))
    (tmp_path / "bag" / "notes.txt").write_text("not an image: skipped, as ImageFolder skips it")
    splits = load_data("images", dir=tmp_path, valid=0, standardize=False)
    assert splits.class_names == ["bag", "shirt"] and splits.input_shape == (1, 4, 5)
    assert splits.train.y.tolist() == [0, 0, 1]
    np.testing.assert_allclose(splits.train.x[1, 0].numpy(), np.arange(20).reshape(4, 5) / 255, atol=1e-6)
    assert splits.train.x[2].max().item() == pytest.approx(200 / 255)


def test_colour_images_are_rgb_and_resized_to_image_size(tmp_path):
    red = np.zeros((8, 6, 3))
    red[..., 0] = 255
    _write(tmp_path, "r.png", "red", red)
    _write(tmp_path, "g.jpg", "gray", np.full((10, 10), 128))
    splits = load_data("images", dir=tmp_path, image_size=[4, 3], valid=0, standardize=False)
    assert splits.input_shape == (3, 4, 3)  # (channels, height, width): one colour image makes all RGB
    np.testing.assert_allclose(splits.train.x[1, :, 0, 0].numpy(), [1.0, 0.0, 0.0], atol=1e-6)
    gray = load_data("images", dir=tmp_path, image_size=[4, 3], channels=1, valid=0, standardize=False)
    assert gray.input_shape == (1, 4, 3)


def test_a_test_folder_takes_the_training_classes_by_name(tmp_path):
    for cls, value in (("a", 0), ("b", 100), ("c", 250)):
        _write(tmp_path / "train", "x.png", cls, np.full((3, 3), value))
    _write(tmp_path / "test", "y.png", "c", np.full((3, 3), 250))
    splits = load_data("images", dir=tmp_path / "train", options={"test_dir": str(tmp_path / "test")}, valid=0)
    assert splits.test.y.tolist() == [2]


def test_mixed_sizes_without_image_size_name_both_files(tmp_path):
    _write(tmp_path, "a.png", "j", np.zeros((4, 4)))
    _write(tmp_path, "b.png", "k", np.zeros((5, 4)))
    with pytest.raises(DataError, match=r"b\.png: 5x4 pixels, but .*a\.png has 4x4; images of mixed sizes need "
                                        r"data\.image_size = \[height, width\]"):
        load_data("images", dir=tmp_path)
    assert load_data("images", dir=tmp_path, image_size=[4, 4], valid=0, test=0).input_shape == (1, 4, 4)


def test_an_unreadable_image_is_skipped_with_a_warning_naming_it(tmp_path):
    _write(tmp_path, "a.png", "j", np.zeros((4, 4)))
    _write(tmp_path, "a.png", "k", np.zeros((4, 4)))
    (tmp_path / "k" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable image\(s\), e\.g\. .*broken\.png"):
        splits = load_data("images", dir=tmp_path, valid=0, test=0)
    assert len(splits.train) == 2


def test_a_class_folder_with_no_readable_image_is_named_with_its_first_bad_file(tmp_path):
    _write(tmp_path, "a.png", "j", np.zeros((4, 4)))
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=r"k: no readable image in this class folder \(e\.g\. broken\.png: .*\); "
                                        r"expected image files Pillow can read"):
        load_data("images", dir=tmp_path)


def test_an_image_folder_of_one_class_is_refused(tmp_path):
    _write(tmp_path, "a.png", "cats", np.zeros((4, 4)))
    with pytest.raises(DataError, match=r"one class folder \(cats/\), expected at least 2 class sub-folders"):
        load_data("images", dir=tmp_path)


def test_a_folder_without_class_folders_or_images_says_the_layout(tmp_path):
    with pytest.raises(DataError, match=r"no class sub-folders; expected images in .*/<class name>/\*\.png"):
        load_data("images", dir=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: no images in this class folder; expected files ending in \.png"):
        load_data("images", dir=tmp_path)


def test_a_bad_image_size_or_channel_count_is_a_config_error(tmp_path):
    _write(tmp_path, "a.png", "j", np.zeros((4, 4)))
    _write(tmp_path, "a.png", "k", np.zeros((4, 4)))
    with pytest.raises(ConfigError, match=r"data\.image_size: expected \[height, width\], two sizes >= 1, got \[0, "):
        load_data("images", dir=tmp_path, image_size=[0, 4])
    with pytest.raises(ConfigError, match=r"data\.channels: expected 1 \(grayscale\) or 3 \(RGB\), got 2"):
        load_data("images", dir=tmp_path, channels=2)
