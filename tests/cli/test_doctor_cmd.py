"""`deepfit doctor`'s terminal output: remedies a shell takes as printed, never wrapped inside a flag."""

from __future__ import annotations

import io
import json
import shlex

import pytest
import tomllib
from rich.console import Console

from deepfit.cli import doctor
from deepfit.cli.main import main
from deepfit.diagnose.repair import MAX_ROUNDS

REMEDIES = [["model.hidden=[300, 300, 100]"], ['model.activation={name="leaky_relu", alpha=0.2}'],
            ["clip.name=global_norm", "clip.threshold=1.0"],
            [f"model.hidden={[300] * 12}", "optimizer.name=nadam", "optimizer.lr=0.001"]]  # over 80 columns
DIAGNOSIS = {"findings": [{"name": "underfitting", "severity": "warning", "summary": "the training loss fell only "
                           "1.8% in 5 epochs and validation is level with it, " * 2, "evidence": {"loss_first": 2.3},
                           "remedies": REMEDIES, "docs": "docs/optimizers.md"}]}


def _render(**console_options):
    text = io.StringIO()
    doctor.show(DIAGNOSIS, "diagnosis", Console(file=text, **console_options))
    return text.getvalue()


def _remedy_lines(text):
    return [line.split(": ", 1)[1] for line in text.splitlines() if line.strip().startswith(("try:", "or:"))]


def test_remedies_print_shell_quoted_and_paste_back_to_the_same_overrides():
    lines = _remedy_lines(_render(width=80))
    assert lines[0] == "--set 'model.hidden=[300,300,100]'"
    for line, remedy in zip(lines, REMEDIES, strict=True):
        words = shlex.split(line)
        assert words[::2] == ["--set"] * len(remedy)
        assert [w.replace(" ", "") for w in words[1::2]] == [o.replace(" ", "") for o in remedy]


def test_no_line_wraps_in_an_80_column_terminal_or_a_pipe():
    for options in ({"width": 80, "force_terminal": True}, {"width": 80, "force_terminal": False}):
        text = _render(**options)
        assert len(_remedy_lines(text)) == len(REMEDIES)
        summary = next(line for line in text.splitlines() if "underfitting" in line)
        assert summary.rstrip().endswith("level with it,"), "a long line was wrapped"  # over 80 columns, whole
        assert len(_remedy_lines(text)[-1]) > 80


def test_the_max_rounds_default_stated_for_parsing_is_the_loops():
    assert doctor._MAX_ROUNDS == MAX_ROUNDS


@pytest.mark.slow
def test_apply_without_fix_writes_the_top_remedy_made_coherent(tmp_path, capsys, blobs_npz):
    target = tmp_path / "a.toml"
    args = ["doctor", "--data", str(blobs_npz), "--set", "data.valid=100", "--set", "model.hidden=[16]", "--set",
            "model.activation=sigmoid", "--set", "optimizer.name=sgd", "--set", "optimizer.lr=1e-9", "--steps", "20",
            "--out", str(tmp_path / "r"), "--quiet", "--device", "cpu", "--apply", str(target)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "not_learning (error)" in out
    written = tomllib.loads(target.read_text())
    assert written["optimizer"] == {"name": "nadam", "lr": 0.001}
    (run,) = (tmp_path / "r").iterdir()
    assert "repair" not in json.loads((run / "diagnosis.json").read_text())
