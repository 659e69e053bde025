import numpy as np

from deepfit.cli.main import main
from deepfit.nn import load_model


def test_pretrain_then_transfer_from_the_pretrained_directory(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=300)
    x = rng.random((3, 12))[y] * 0.8 + rng.random((300, 12)) * 0.2  # inputs in [0, 1], as an RBM needs
    np.savez(tmp_path / "unit.npz", x_train=x.astype(np.float32), y_train=y)
    common = ["--data", str(tmp_path / "unit.npz"), "--set", "data.valid=50", "--quiet"]
    assert main(["pretrain", "rbm", "--layers", "8", "--epochs", "1", "--out", str(tmp_path / "pre"), *common]) == 0
    (pre,) = (tmp_path / "pre").iterdir()
    _, spec, meta, extra = load_model(pre)
    assert spec.hidden == [8] and spec.activation == "sigmoid" and meta["pretrain"] == "rbm" and "mean" not in extra
    capsys.readouterr()
    assert (
        main(
            [
                "transfer",
                "--from",
                str(pre),
                "--freeze-epochs",
                "1",
                "--epochs",
                "2",
                "--out",
                str(tmp_path / "runs"),
                *common,
            ]
        )
        == 0
    )
    (run,) = (tmp_path / "runs").iterdir()
    assert load_model(run)[1].hidden == [8]


def test_pretrain_option_of_another_method_is_reported(tmp_path, capsys, blobs_npz):
    code = main(
        [
            "pretrain",
            "autoencoder",
            "--k",
            "2",
            "--epochs",
            "1",
            "--data",
            str(blobs_npz),
            "--set",
            "data.valid=100",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 2 and "unexpected keyword argument 'k'" in capsys.readouterr().err


def test_pretrain_gan_writes_the_discriminator_layers_and_its_losses(tmp_path, blobs_npz):
    import json

    code = main(["pretrain", "gan", "--layers", "16,8", "--latent-dim", "4", "--epochs", "2", "--data",
                 str(blobs_npz), "--out", str(tmp_path / "pre"), "--set", "train.batch_size=64", "--quiet"])
    assert code == 0
    (pre,) = (tmp_path / "pre").iterdir()
    model, spec, meta, _ = load_model(pre)
    record = json.loads((pre / "pretrain.json").read_text())
    assert meta["pretrain"] == "gan" and record["options"] == {"latent_dim": 4} and spec.hidden == [16, 8]
    (row,) = record["layers"]
    assert row["epoch"] == 2 and all(np.isfinite(row[k]) for k in ("d_loss", "g_loss", "val_d_acc"))
    assert model.hidden1.linear.weight.shape == (16, 12) and model.output.out_features == 3
