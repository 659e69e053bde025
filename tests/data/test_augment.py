import pytest
import torch

from deepfit.data.augment import build_augment
from deepfit.errors import ConfigError


def _images(n: int = 16, h: int = 7, w: int = 9) -> torch.Tensor:
    return torch.rand(n, h, w, generator=torch.Generator().manual_seed(0)) + 0.5  # no zero pixel inside


def test_shift_moves_each_image_by_whole_pixels_and_fills_with_zero():
    x = _images()
    out = build_augment((7, 9), shift=2, generator=torch.Generator().manual_seed(1))(x)
    for img, src in zip(out, x, strict=True):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if torch.equal(img, _shifted(src, dy, dx))]
        assert len(matches) == 1
    assert any(not torch.equal(a, b) for a, b in zip(out, x, strict=True))


def _shifted(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    out = torch.zeros_like(img)
    h, w = img.shape
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = img[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def test_standardised_inputs_get_the_standardised_value_of_a_zero_pixel_at_the_border():
    raw = _images(8)
    mean, std = raw.mean(0), raw.std(0)
    x = (raw - mean) / std
    out = build_augment((7, 9), shift=3, mean=mean, std=std, generator=torch.Generator().manual_seed(2))(x)
    back = out * std + mean  # pixel space
    assert torch.allclose(back[back.abs() < 1e-4], torch.zeros(()), atol=1e-4)
    assert (back.abs() < 1e-4).any()  # some border came in
    assert torch.isin(back.round(decimals=4), raw.round(decimals=4)).float().mean() > 0.5


def test_flip_mirrors_left_right():
    x = _images(32)
    out = build_augment((7, 9), flip=True, generator=torch.Generator().manual_seed(0))(x)
    flipped = [torch.equal(o, s.flip(-1)) for o, s in zip(out, x, strict=True)]
    same = [torch.equal(o, s) for o, s in zip(out, x, strict=True)]
    assert all(f or s for f, s in zip(flipped, same, strict=True))
    assert 4 < sum(flipped) < 28


def test_rotation_by_small_angles_keeps_the_centre_pixel():
    x = torch.zeros(4, 9, 9)
    x[:, 4, 4] = 1.0
    out = build_augment((9, 9), rotate=10.0, generator=torch.Generator().manual_seed(0))(x)
    assert torch.allclose(out[:, 4, 4], torch.ones(4), atol=0.05)
    assert out.sum() == pytest.approx(4.0, rel=0.05)


def test_noise_has_the_asked_standard_deviation_on_any_shape():
    x = torch.zeros(20_000, 3)
    out = build_augment((3,), noise=0.5, generator=torch.Generator().manual_seed(0))(x)
    assert float(out.std()) == pytest.approx(0.5, rel=0.02)


def test_same_seed_same_batch_and_channel_images_work():
    x = torch.rand(5, 2, 6, 6)
    a = build_augment((2, 6, 6), shift=1, rotate=5, generator=torch.Generator().manual_seed(7))(x)
    b = build_augment((2, 6, 6), shift=1, rotate=5, generator=torch.Generator().manual_seed(7))(x)
    assert torch.equal(a, b) and a.shape == x.shape


def test_all_options_off_builds_nothing():
    assert build_augment((7, 9)) is None


@pytest.mark.parametrize(
    ("shape", "kwargs", "match"),
    [
        ((12,), {"shift": 2}, r"augment.shift: shift need image samples .* got input_shape \(12,\)"),
        ((12,), {"flip": True}, "augment.flip"),
        ((3, 4, 5, 6), {"rotate": 5.0}, "augment.rotate"),
        ((7, 9), {"shift": -1}, "augment.shift: expected a whole number of pixels >= 0, got -1"),
        ((7, 9), {"rotate": 200.0}, r"augment.rotate: expected degrees in \[0, 180\]"),
        ((7, 9), {"noise": -0.1}, "augment.noise"),
    ],
)
def test_bad_augmentation_is_a_config_error(shape, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        build_augment(shape, **kwargs)
