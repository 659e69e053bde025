import argparse
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from deepfit.cli import doctor, pretrain
from deepfit.cli.main import build_parser, main
from deepfit.diagnose.doctor import DEFAULT_STEPS
from deepfit.pretrain import PRETRAINERS
from deepfit.run.export import EXPORT_FORMATS


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_writes_every_run_file_then_evaluate_and_predict(tmp_path, capsys, blobs_npz):
    code, out, _ = _run(
        capsys,
        "train",
        "--data",
        str(blobs_npz),
        "--out",
        str(tmp_path / "runs"),
        "--epochs",
        "5",
        "--set",
        "optimizer.lr=0.01",
        "--set",
        "data.valid=100",
        "--set",
        "model.hidden=[16]",
        "--quiet",
    )
    assert code == 0
    (run,) = (tmp_path / "runs").iterdir()
    for name in (
        "config.toml",
        "history.csv",
        "metrics.json",
        "model.safetensors",
        "model.json",
        "checkpoint/state.json",
        "plots/learning_curves.png",
        "plots/confusion_matrix.png",
        "report.html",
    ):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["acc"] > 0.9
    assert np.asarray(metrics["confusion_matrix"]).sum() == 200
    html = (run / "report.html").read_text()
    assert "data:image/png;base64," in html and "Learning curves" in html

    code, out, _ = _run(capsys, "evaluate", str(run), "--split", "test")
    assert code == 0 and f"acc {metrics['test']['acc']:.4f}" in out

    x = np.load(blobs_npz)["x_test"][:5]
    np.savez(tmp_path / "in.npz", x=x)
    code, out, _ = _run(
        capsys,
        "predict",
        str(run),
        "--input",
        str(tmp_path / "in.npz"),
        "--output",
        str(tmp_path / "pred.npz"),
    )
    assert code == 0
    probs = np.load(tmp_path / "pred.npz")["probabilities"]
    assert probs.shape == (5, 3) and np.allclose(probs.sum(1), 1, atol=1e-5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "model.activation=relux"], "unknown activation 'relux'; did you mean 'relu'"),
        (["--set", "model.init=glorot_unifrom"], "unknown initializer 'glorot_unifrom'; did you mean"),
        (["--set", "optimizer.name=nadm"], "unknown optimizer 'nadm'; did you mean 'nadam'"),
        (["--epochs", "-1"], "train.epochs: .*got -1"),
        (["--set", "model.dropout=1.5"], "model.dropout"),
        (["--set", "optimizer.lr=-0.1"], "optimizer.lr"),
    ],
)
def test_bad_input_exits_2_with_a_one_line_message(tmp_path, capsys, blobs_npz, args, message):
    code, _, err = _run(
        capsys,
        "train",
        "--data",
        str(blobs_npz),
        "--out",
        str(tmp_path / "runs"),
        "--quiet",
        "--set",
        "data.valid=100",
        *args,
    )
    assert code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2

    assert re.search(message, err), err


def test_missing_data_dir_says_how_to_get_the_data(tmp_path, capsys):
    code, _, err = _run(
        capsys, "train", "--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "runs"), "--quiet"
    )
    assert code == 2
    assert "nowhere" in err


def test_unwritable_output_dir_is_reported(tmp_path, capsys, blobs_npz, monkeypatch):
    from pathlib import Path

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)  # as root, chmod cannot make a directory unwritable
    code, _, err = _run(
        capsys,
        "train",
        "--data",
        str(blobs_npz),
        "--out",
        str(tmp_path / "runs"),
        "--quiet",
        "--set",
        "data.valid=100",
    )
    assert code == 2 and "cannot write the run directory" in err and "Permission denied" in err


def test_output_path_that_is_a_file_is_reported(tmp_path, capsys, blobs_npz):
    (tmp_path / "file").write_text("")
    code, _, err = _run(
        capsys,
        "train",
        "--data",
        str(blobs_npz),
        "--out",
        str(tmp_path / "file"),
        "--quiet",
        "--set",
        "data.valid=100",
    )
    assert code == 2 and "cannot write the run directory" in err and "--out" in err


def test_resume_from_a_damaged_checkpoint_is_reported(tmp_path, capsys, blobs_npz):
    assert (
        _run(
            capsys,
            "train",
            "--data",
            str(blobs_npz),
            "--out",
            str(tmp_path / "runs"),
            "--epochs",
            "1",
            "--set",
            "model.hidden=[8]",
            "--set",
            "data.valid=100",
            "--quiet",
        )[0]
        == 0
    )
    (run,) = (tmp_path / "runs").iterdir()
    (run / "checkpoint" / "state.json").write_bytes(b"garbage")
    code, _, err = _run(capsys, "train", "--resume", str(run), "--quiet")
    assert code == 2 and "damaged checkpoint" in err


def test_csv_with_a_non_numeric_cell_is_reported(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("label,a,b\n0,1.0,2.0\n1,oops,3.0\n")
    code, _, err = _run(capsys, "train", "--data", str(path), "--out", str(tmp_path / "runs"), "--quiet")
    assert code == 2 and "oops" in err


def test_list_prints_summaries(capsys):
    code, out, _ = _run(capsys, "list", "optimizers")
    assert code == 0 and "nadam" in out and "Dozat" in out


def test_info_reports_versions_and_data_locations(capsys):
    code, out, _ = _run(capsys, "info")
    assert code == 0 and "torch" in out and "fashion-mnist" in out


def test_valid_zero_trains_without_a_validation_split(tmp_path, blobs_npz):
    argv = ["train", "--data", str(blobs_npz), "--out", str(tmp_path / "runs"), "--epochs", "1", "--quiet"]
    assert main([*argv, "--set", "data.valid=0"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    metrics = json.loads((run / "metrics.json").read_text())
    assert "valid" not in metrics and "test" in metrics
    assert "val_loss" not in (run / "history.csv").read_text()


def test_a_diverging_run_stops_says_so_and_writes_strict_json_and_finite_weights(tmp_path, capsys, blobs_npz):
    from safetensors.numpy import load_file

    code, _, err = _run(capsys, "train", "--data", str(blobs_npz), "--out", str(tmp_path / "runs"), "--epochs", "6",
                        "--set", "optimizer.name=sgd", "--set", "optimizer.lr=1e6", "--set", "data.valid=100",
                        "--set", "model.hidden=[16]", "--quiet")
    assert code == 1
    assert "diverged" in err and "non-finite" in err and "lower learning rate" in err
    (run,) = (tmp_path / "runs").iterdir()

    def refuse(token):
        raise AssertionError(f"metrics.json holds {token}")

    metrics = json.loads((run / "metrics.json").read_text(), parse_constant=refuse)
    assert metrics["stopped"] == "diverged" and metrics["diverged"]["epoch"] == 1 and metrics["epochs"] == 1
    assert all(np.isfinite(w).all() for w in load_file(run / "model.safetensors").values())


_HEAVY = ("torch", "numpy", "matplotlib", "rich.progress", "onnx", "mlflow", "tensorboard", "pydantic")


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["train", "--epochs", "x"], ["study", "--help"]])
def test_help_and_argument_errors_import_nothing_heavy(argv):
    """Parsing answers before torch or any other heavy module is imported (the commands import them)."""
    code = ("import sys\nfrom deepfit.cli.main import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n"
            f"    pass\nprint([m for m in {_HEAVY!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr


_TYPOS = {
    "model.activaton=elu": "deepfit train: error: config: model.activaton: unknown key; valid keys: hidden, "
    "activation, init, norm, dropout, input_dropout, dropout_kind, input_norm, norm_momentum, norm_eps, "
    "norm_running_var, layer_init, factory, options",
    "optimizer.name=nadm": "deepfit train: error: config: optimizer.name: unknown optimizer 'nadm'; did you mean "
    "'nadam'? valid: adagrad, adam, adamax, adamw, ftrl, keras_adagrad, keras_adam, keras_adamax, keras_adamw, "
    "keras_nadam, keras_rmsprop, keras_sgd, momentum, nadam, nesterov, rmsprop, sgd; got 'nadm'",
    "regularization.penalty=l3": "deepfit train: error: config: regularization.penalty: unknown penalty 'l3' valid: "
    "l1, l1_l2, l2; got 'l3'",
}


@pytest.mark.parametrize("override", list(_TYPOS))
def test_config_typo_is_reported_before_torch_is_imported(override):
    """A misspelt key or name is told with the config's own message, without importing torch or numpy."""
    code = ("import sys\nfrom deepfit.cli.main import main\ncode = main(sys.argv[1:])\n"
            "print(code, [m for m in ('torch', 'numpy', 'matplotlib') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code, "train", "--set", override], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "2 []", done.stdout + done.stderr
    assert done.stderr.strip() == _TYPOS[override]


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_out_help_says_where_each_command_writes():
    helps = {name: next(a.help for a in p._actions if "--out" in a.option_strings)
             for name, p in _subcommands().items() if any("--out" in a.option_strings for a in p._actions)}
    assert "default studies/" in helps["study"] and "runs/" not in helps["study"]
    assert "default studies/" in helps["sweep"]
    assert "default runs/" in helps["train"]


def test_help_texts_stated_for_speed_match_their_registries():
    """Help that lists names or a default without importing their module says what the module says."""
    assert tuple(PRETRAINERS.names()) == pretrain.METHODS
    assert doctor._STEPS == DEFAULT_STEPS
    export_help = _subcommands()["export"].format_help()
    assert all(name in export_help for name in EXPORT_FORMATS.names())
