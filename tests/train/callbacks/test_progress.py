import builtins
import io
import json

import pytest
from rich.console import Console

from deepfit.errors import ConfigError
from deepfit.train import Callback, ProgressBar
from deepfit.train.callbacks.progress import _default_console, compiling_note, progress_for


class _Count(Callback):
    def __init__(self) -> None:
        self.steps: list[int] = []

    def on_steps(self, view, logs):
        self.steps.append(logs["step"])


def test_on_steps_comes_after_the_first_step_then_about_every_progress_every_s(fit_blobs):
    every_step, rarely = _Count(), _Count()
    fit_blobs([every_step], epochs=1, progress_every_s=1e-9)
    fit_blobs([rarely], epochs=2, progress_every_s=1e9)
    assert every_step.steps == list(range(1, 10))  # 10 steps: every one but the last, which ends the epoch
    assert rarely.steps == [1, 5, 1]  # the interval grows 4x per event, and every epoch starts with step 1


def test_progress_bar_shows_the_running_loss_before_the_epoch_ends(fit_blobs):
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    seen = []

    class _Peek(Callback):
        order = 95  # after the bar

        def on_steps(self, view, logs):
            seen.append(bar._progress.tasks[0].completed)

    bar = ProgressBar(console)
    fit_blobs([bar, _Peek()], epochs=1, progress_every_s=1e-9)
    assert seen == list(range(1, 10))
    assert "\n1/1 " in out.getvalue() and "val_loss" in out.getvalue()  # the epoch's line under its header


def test_progress_goes_to_stderr_in_a_terminal_and_to_the_notebook_in_jupyter(monkeypatch):
    assert _default_console().stderr
    shell = type("ZMQInteractiveShell", (), {})()
    monkeypatch.setattr(builtins, "get_ipython", lambda: shell, raising=False)
    console = _default_console()
    assert console.is_jupyter and not console.stderr


def _piped(width=80):
    out = io.StringIO()
    return out, Console(file=out, width=width, color_system=None)  # a file: not a terminal, as a pipe or a log


def test_piped_output_is_one_line_per_epoch_under_one_header_with_no_bar_and_no_blank_line(fit_blobs):
    out, console = _piped()
    fit_blobs([ProgressBar(console)], epochs=3, progress_every_s=1e-9)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["epoch", "loss", "acc", "val_loss", "val_acc", "lr", "time"]
    assert [line.split()[0] for line in lines[1:]] == ["1/3", "2/3", "3/3"]
    assert all(line.strip() and len(line) <= 80 for line in lines)
    assert "\x1b" not in out.getvalue() and "━" not in out.getvalue()


def test_notices_print_once_before_the_first_epoch(fit_blobs):
    out, console = _piped()
    bar = ProgressBar(console, notices=["validation split: the first 100 samples"])
    _, _ = fit_blobs([bar], epochs=1)
    lines = out.getvalue().splitlines()
    assert lines[0] == "validation split: the first 100 samples" and lines[1].startswith("epoch")


def test_a_named_stage_prints_before_its_epochs_which_count_towards_the_run_total(fit_blobs):
    out, console = _piped()
    bar = ProgressBar(console)
    bar.begin_stage("stage 1 of 2: reused layers frozen", epochs=5)
    fit_blobs([bar], epochs=2)
    lines = out.getvalue().splitlines()
    assert lines[0] == "stage 1 of 2: reused layers frozen"
    assert [line.split()[0] for line in lines[2:]] == ["1/5", "2/5"]


def test_json_style_prints_one_object_per_line(fit_blobs):
    out, console = _piped()
    fit_blobs([ProgressBar(console, style="json", notices=["chosen"])], epochs=2)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert records[0] == {"event": "notice", "text": "chosen"}
    assert [(r["event"], r["epoch"], r["epochs"]) for r in records[1:]] == [("epoch", 1, 2), ("epoch", 2, 2)]
    assert 0 < records[2]["val_acc"] <= 1


def test_a_terminal_draws_the_bar_a_pipe_does_not():
    assert ProgressBar(Console(file=io.StringIO(), force_terminal=True)).draws_bar
    assert not ProgressBar(_piped()[1]).draws_bar
    assert not ProgressBar(Console(file=io.StringIO(), force_terminal=True), style="plain").draws_bar


def test_unknown_style_is_refused_with_the_valid_ones():
    with pytest.raises(ConfigError, match="expected one of auto, plain, json, got 'bar'"):
        ProgressBar(style="bar")


def test_fit_verbose_2_prints_a_line_per_epoch_and_0_prints_nothing(fit_blobs, capsys):
    trainer, _ = fit_blobs([], epochs=2)  # verbose="auto": 1, which under pytest's capture (no terminal) is lines
    auto = capsys.readouterr().err.splitlines()
    trainer.fit(*_blobs_splits(), epochs=4, verbose=2)
    two = capsys.readouterr().err.splitlines()
    trainer.fit(*_blobs_splits(), epochs=5, verbose=0)
    assert [line.split()[0] for line in auto[1:]] == ["1/2", "2/2"]
    assert [line.split()[0] for line in two[1:]] == ["3/4", "4/4"]
    assert capsys.readouterr().err == ""
    assert not any(isinstance(c, ProgressBar) for c in trainer.callbacks)  # fit's own bar leaves with it


def test_fit_adds_no_second_bar_to_one_among_the_callbacks(fit_blobs, capsys):
    out, console = _piped()
    fit_blobs([ProgressBar(console)], epochs=1)
    assert capsys.readouterr().err == "" and "1/1" in out.getvalue()


def test_fit_refuses_a_verbose_level_keras_does_not_have():
    with pytest.raises(ConfigError, match=r"expected 0 .*, got 3"):
        progress_for(3, [])


def _blobs_splits():
    from tests.conftest import make_blobs

    from deepfit.data import from_arrays

    x, y = make_blobs(500)
    s = from_arrays(x[:400], y[:400], x[400:], y[400:], valid=100)
    return s.train, s.valid
def test_bar_says_the_step_is_compiling_and_how_long_it_should_take():
    assert compiling_note({"compiling": (25.0, False)}) == (
        "compiling the training step (first run of this shape: about 25 s)")
    assert compiling_note({"compiling": (3.4, True)}) == (
        "compiling the training step (compiled before, loading from the cache: about 3 s)")
    assert compiling_note({"epoch": 1, "steps": 10, "compiling": None}) == ""
