import builtins
import io

from rich.console import Console

from deepfit.train import Callback, ProgressBar
from deepfit.train.callbacks.progress import _default_console, compiling_note


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
    assert "epoch 1/1  loss" in out.getvalue()


def test_progress_goes_to_stderr_in_a_terminal_and_to_the_notebook_in_jupyter(monkeypatch):
    assert _default_console().stderr
    shell = type("ZMQInteractiveShell", (), {})()
    monkeypatch.setattr(builtins, "get_ipython", lambda: shell, raising=False)
    console = _default_console()
    assert console.is_jupyter and not console.stderr


def test_bar_says_the_step_is_compiling_and_how_long_it_should_take():
    assert compiling_note({"compiling": (25.0, False)}) == (
        "compiling the training step (first run of this shape: about 25 s)")
    assert compiling_note({"compiling": (3.4, True)}) == (
        "compiling the training step (compiled before, loading from the cache: about 3 s)")
    assert compiling_note({"epoch": 1, "steps": 10, "compiling": None}) == ""
