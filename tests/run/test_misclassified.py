import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from deepfit.data import from_arrays
from deepfit.run.misclassified import is_image_shape, misclassified, save_misclassified
from deepfit.run.predictions import FinalPass


def _images(n=40, shape=(6, 6), standardize=True):
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 2.0, size=(n, *shape)).astype(np.float32)
    y = np.arange(n) % 3
    return x, y, from_arrays(x[:30], y[:30], x[30:], y[30:], valid=0, standardize=standardize)


def test_the_wrong_test_predictions_are_kept_on_the_datas_own_scale():
    x, y, splits = _images()
    predicted = torch.as_tensor(y[30:]).clone()
    predicted[[1, 4, 7]] = (predicted[[1, 4, 7]] + 1) % 3
    got = misclassified(predicted, splits)
    assert got["index"].tolist() == [1, 4, 7]
    assert got["true"].tolist() == y[30:][[1, 4, 7]].tolist()
    assert got["predicted"].tolist() == predicted[[1, 4, 7]].tolist()
    torch.testing.assert_close(got["x"], torch.from_numpy(x[30:][[1, 4, 7]]), atol=1e-5, rtol=1e-5)


def test_at_most_the_limit_is_kept_and_nothing_when_all_are_right():
    _, y, splits = _images()
    wrong = torch.as_tensor((y[30:] + 1) % 3)
    assert len(misclassified(wrong, splits, limit=4)["x"]) == 4
    assert misclassified(torch.as_tensor(y[30:]), splits) is None


def test_tabular_inputs_are_not_saved(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 12)).astype(np.float32), np.arange(40) % 3
    splits = from_arrays(x[:30], y[:30], x[30:], y[30:], valid=0)
    assert save_misclassified(tmp_path, torch.as_tensor((y[30:] + 1) % 3), splits) is None
    assert not any(tmp_path.iterdir())


def test_the_file_is_safetensors_with_the_four_arrays(tmp_path):
    _, y, splits = _images(standardize=False)
    path = save_misclassified(tmp_path, torch.as_tensor((y[30:] + 1) % 3), splits)
    assert path == tmp_path / "misclassified.safetensors"
    arrays = load_file(str(path))
    assert sorted(arrays) == ["index", "predicted", "true", "x"] and arrays["x"].shape == (10, 6, 6)


def test_image_shapes():
    assert is_image_shape((28, 28)) and is_image_shape((1, 28, 28)) and is_image_shape((3, 32, 32))
    assert not is_image_shape((784,)) and not is_image_shape((2, 2)) and not is_image_shape((10, 28, 28))


def test_with_losses_the_most_confident_mistakes_come_first():
    _, y, splits = _images()
    predicted = torch.as_tensor(y[30:]).clone()
    predicted[[1, 4, 7]] = (predicted[[1, 4, 7]] + 1) % 3
    losses = torch.zeros(10)
    losses[[1, 4, 7]] = torch.tensor([0.7, 2.3, 1.1])
    losses[0] = 9.0  # right, however high its loss: not a mistake
    got = misclassified(predicted, splits, limit=2, losses=losses)
    assert got["index"].tolist() == [4, 7] and got["loss"].tolist() == pytest.approx([2.3, 1.1])


def test_a_trained_runs_losses_are_the_cross_entropy_of_each_test_sample():
    from deepfit.nn import ModelSpec, build_model
    from deepfit.train import Trainer, objective_for

    _, _, splits = _images()
    torch.manual_seed(0)
    trainer = Trainer(build_model(ModelSpec((6, 6), 3, hidden=[4])), objective_for("auto", "multiclass"))
    final = FinalPass(trainer, splits)
    classes, losses = final.classes(), final.losses()
    logits = trainer.model(splits.test.x)
    expected = torch.nn.functional.cross_entropy(logits, splits.test.y.long(), reduction="none")
    assert classes.shape == losses.shape == (1, 10)
    torch.testing.assert_close(losses[0].float(), expected.detach(), atol=1e-5, rtol=1e-4)
    assert classes[0].tolist() == logits.argmax(1).tolist()
