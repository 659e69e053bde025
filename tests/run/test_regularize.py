import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from deepfit.cli.main import main
from deepfit.config import load_config
from deepfit.data import from_arrays
from deepfit.errors import ConfigError
from deepfit.nn import MCPrediction, ModelSpec, build_model
from deepfit.run import run_training
from deepfit.train import Trainer, UpdateRule, objective_for


def _images(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = (rng.random((n, 6, 6)) * 255).astype(np.uint8)
    y = (x[:, :3].mean((1, 2)) > x[:, 3:].mean((1, 2))).astype(np.int64)
    return x, y


@pytest.fixture
def image_splits():
    x, y = _images()
    return from_arrays(x[:250], y[:250], x[250:], y[250:], valid=50)


def _cfg(*overrides: str):
    base = ["train.epochs=2", "train.device=cpu", "model.hidden=[12]", "train.early_stopping=false"]
    return load_config(None, base + list(overrides))


def test_penalty_is_its_own_history_column_and_max_norm_holds(image_splits):
    cfg = _cfg(
        'regularization.penalty={name="l2", l2=0.01}',
        "regularization.max_norm=0.3",
        "regularization.augment.shift=1",
        "model.dropout=0.2",
    )
    res = run_training(cfg, save=False, splits=image_splits)
    pens = res.history["penalty"]
    assert len(pens) == 2 and all(p > 0 for p in pens)
    w = res.trainer.model.hidden1.linear.weight.detach()
    assert float(torch.linalg.vector_norm(w, dim=1).max()) <= 0.3 + 1e-5
    assert 0.01 * float((w**2).sum()) < pens[-1]  # the output kernel is penalised too


def test_augmentation_touches_training_batches_only(image_splits):
    torch.manual_seed(0)
    model = build_model(ModelSpec((6, 6), 2, hidden=[8]))
    calls = []

    def augment(x):
        calls.append(x.shape[0])
        return torch.zeros_like(x)  # a training batch the model cannot learn from

    obj = objective_for("auto", "multiclass")
    trainer = Trainer(model, obj, UpdateRule("sgd"), batch_size=50, augment=augment)
    trainer.fit(image_splits.train, epochs=1)
    assert calls == [50, 50, 50, 50]
    plain = Trainer(model, obj)
    before = len(calls)
    assert trainer.evaluate(image_splits.test) == plain.evaluate(image_splits.test)
    assert torch.equal(trainer.predict(image_splits.test.x), plain.predict(image_splits.test.x))
    assert len(calls) == before


def test_trainer_predict_with_mc_samples_returns_mean_std_entropy(image_splits):
    res = run_training(_cfg("model.dropout=0.5"), save=False, splits=image_splits)
    mc = res.trainer.predict(image_splits.test.x, mc_samples=8, seed=1, batch_size=20)
    assert isinstance(mc, MCPrediction) and mc.mean.shape == (50, 2) and mc.entropy.shape == (50,)
    assert torch.allclose(mc.mean.sum(1), torch.ones(50), atol=1e-5)
    again = res.trainer.predict(image_splits.test.x, mc_samples=8, seed=1, batch_size=20)
    assert torch.equal(mc.mean, again.mean)
    with pytest.raises(ConfigError, match="mc_samples must be an integer >= 1, got 0"):
        res.trainer.predict(image_splits.test.x, mc_samples=0)


def test_augmentation_on_tabular_data_is_a_config_error(blobs_npz):
    cfg = _cfg("data.name=npz", f"data.path='{blobs_npz}'", "data.valid=100", "regularization.augment.shift=2")
    with pytest.raises(ConfigError, match=r"augment.shift: .* got input_shape \(12,\)"):
        run_training(cfg, save=False)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("model.dropout=1.0", r"model.dropout: .*dropout rate must be in \[0, 1\), got 1.0"),
        ("model.dropout=[0.2, -0.1]", r"model.dropout: .*got -0.1"),
        ("model.input_dropout=1.0", "model.input_dropout"),
        ("model.dropout_kind=gaussian", "model.dropout_kind: .*unknown dropout kind"),
        ("regularization.max_norm=0", r"regularization.max_norm: .*must be > 0, got 0"),
        ("regularization.max_norm={max_value=-2}", r"regularization.max_norm: .*must be > 0, got -2"),
        ('regularization.penalty={name="l2", l2=-0.01}', r"regularization.penalty: .*l2 must be >= 0"),
        ('regularization.layers={output={name="l1", l1=-1}}', r"regularization.layers: .*l1 must be >= 0"),
        ("regularization.augment.shift=-1", "regularization.augment.shift"),
        ("regularization.augment.rotate=181", "regularization.augment.rotate"),
        ("regularization.augment.noise=-1", "regularization.augment.noise"),
        ("regularization.dropout=0.5", "regularization.dropout: unknown key"),
    ],
)
def test_bad_regularization_config_is_a_config_error_naming_the_field(override, match):
    with pytest.raises(ConfigError, match=match):
        load_config(None, [override])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_mc_predict_and_prune_write_new_files_and_keep_the_original(tmp_path, capsys):
    x, y = _images()
    data = tmp_path / "img.npz"
    np.savez(data, x_train=x[:250], y_train=y[:250], x_test=x[250:], y_test=y[250:])
    np.savez(tmp_path / "in.npz", x=x[:5])
    args = [
        "train",
        "--data",
        str(data),
        "--set",
        "data.valid=50",
        "--set",
        "model.hidden=[16]",
        "--set",
        "model.dropout=0.3",
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "runs"),
        "--quiet",
        "--device",
        "cpu",
    ]
    assert main(args) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert (
        main(
            [
                "predict",
                str(run),
                "--input",
                str(tmp_path / "in.npz"),
                "--mc-samples",
                "5",
                "--output",
                str(tmp_path / "p.npz"),
            ]
        )
        == 0
    )
    with np.load(tmp_path / "p.npz") as f:
        assert f["probabilities"].shape == (5, 2) and f["std"].shape == (5, 2) and f["entropy"].shape == (5,)
    assert main(["predict", str(run), "--input", str(tmp_path / "in.npz"), "--mc-samples", "0"]) == 2
    assert "mc_samples must be an integer >= 1" in capsys.readouterr().err
    original = _digest(run / "model.safetensors")
    assert main(["prune", str(run), "--sparsity", "0.9", "--finetune-epochs", "1", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "| hidden1.linear | 576 | 518 | 89.93 |" in out and "finetuned" in out
    (pruned,) = run.glob("pruned-*")
    assert _digest(run / "model.safetensors") == original
    assert main(["evaluate", str(pruned), "--device", "cpu"]) == 0
    assert main(["prune", str(run), "--sparsity", "1.0"]) == 2
