import numpy as np
import pytest
from matplotlib.image import imread
from safetensors.numpy import save_file

from deepfit.errors import CheckpointError, ShapeError
from deepfit.report.images import plot_misclassified, read_misclassified


def _samples(n, shape=(28, 28)):
    rng = np.random.default_rng(0)
    return {"x": rng.random((n, *shape)).astype(np.float32), "true": np.arange(n) % 3,
            "predicted": (np.arange(n) + 1) % 3, "index": np.arange(n) * 7}


def test_a_file_written_by_a_run_is_read_back_and_drawn_as_a_grid(tmp_path):
    save_file(_samples(12), str(tmp_path / "misclassified.safetensors"))
    samples = read_misclassified(tmp_path / "misclassified.safetensors")
    assert samples["index"].tolist() == [7 * k for k in range(12)]
    small = plot_misclassified(_samples(3), ["a", "b", "c"], tmp_path / "three.png")
    grid = plot_misclassified(samples, ["a", "b", "c"], tmp_path / "grid.png")
    (h3, w3, _), (h12, w12, _) = imread(small).shape, imread(grid).shape
    assert w12 > w3 and h12 > 2 * h3  # 5 columns and 3 rows against 3 columns and 1 row


def test_channel_first_images_draw(tmp_path):
    path = plot_misclassified(_samples(4, (1, 8, 8)), None, tmp_path / "grey.png")
    rgb = plot_misclassified(_samples(2, (3, 8, 8)), None, tmp_path / "rgb.png")
    assert imread(path).shape[0] > 100 and imread(rgb).shape[0] > 100


def test_a_file_without_the_labels_is_a_checkpoint_error(tmp_path):
    save_file({"x": np.zeros((2, 4, 4), np.float32)}, str(tmp_path / "m.safetensors"))
    with pytest.raises(CheckpointError, match="missing true, predicted, index"):
        read_misclassified(tmp_path / "m.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        read_misclassified(tmp_path / "junk.safetensors")


def test_rows_that_are_not_images_or_disagree_in_length_are_shape_errors(tmp_path):
    with pytest.raises(ShapeError, match=r"expected images \(n, H, W\) or \(n, C, H, W\), got shape \(3, 12\)"):
        plot_misclassified(_samples(3, (12,)), None, tmp_path / "rows.png")
    short = {**_samples(3), "true": np.zeros(2, int)}
    with pytest.raises(ShapeError, match="3 images but 2 true"):
        plot_misclassified(short, None, tmp_path / "short.png")
