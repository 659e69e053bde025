"""A progress bar per epoch with the running loss, and one summary line per finished epoch."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from deepfit.train.callbacks.base import CALLBACKS, Callback, FitView, Logs

_SHOWN = ("loss", "acc", "val_loss", "val_acc", "lr")


@CALLBACKS.register("progress", summary="a progress bar per epoch, updated a few times a second, and a line per epoch")
class ProgressBar(Callback):
    """Rich progress bar; the running loss is read at each `on_steps` event, a few times a second (one sync
    each).

    With K members trained at once, the bar shows their mean loss and the epoch line the best member. The
    default console writes to stderr in a terminal and, in Jupyter, to the notebook (rich draws the bar
    there with ipywidgets).
    """

    order = 90

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or _default_console()
        self._progress: Progress | None = None
        self._task = None

    def on_epoch_begin(self, view: FitView, logs: Logs) -> None:
        self._progress = Progress(
            TextColumn(f"epoch {view.epoch}/{view.epochs}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[figures]}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("train", total=logs["steps"], figures=compiling_note(logs))

    def on_steps(self, view: FitView, logs: Logs) -> None:
        if self._progress is None:
            return
        loss = float(logs["loss_sum"].mean()) / max(1, logs["seen"])
        self._progress.update(self._task, completed=logs["step"], figures=f"loss {loss:.4f}")

    def on_epoch_end(self, view: FitView, logs: Logs) -> None:
        self._stop()
        if "members" in logs:
            rows = logs["members"]
            key = "val_acc" if all("val_acc" in r for r in rows) else "loss"
            best = (max if key.endswith("acc") else min)(rows, key=lambda r: r[key])
            figures = f"{len(rows)} members training, best {key} {best[key]:.4g}"
        else:
            figures = "  ".join(f"{k} {logs[k]:.4g}" for k in _SHOWN if k in logs)
        self.console.print(
            f"epoch {logs['epoch']}/{view.epochs}  {figures}  {logs['epoch_time_s']:.1f}s", highlight=False
        )

    def on_fit_end(self, view: FitView, logs: Logs) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def compiling_note(logs: Logs) -> str:
    """What the bar says before the first step while it compiles (`compiling` of `on_epoch_begin`'s logs:
    expected seconds and whether this step's shapes compiled before); empty otherwise."""
    compiling = logs.get("compiling")
    if compiling is None:
        return ""
    seconds, before = compiling
    why = "compiled before, loading from the cache" if before else "first run of this shape"
    return f"compiling the training step ({why}: about {seconds:.0f} s)"


def _default_console() -> Console:
    """stderr in a terminal, so progress stays out of piped output; the notebook's own output in Jupyter."""
    console = Console()
    return console if console.is_jupyter else Console(stderr=True)
