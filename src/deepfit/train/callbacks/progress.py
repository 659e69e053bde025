"""Progress while fitting: in a terminal or notebook a bar per epoch with the running loss, and everywhere
one aligned line per finished epoch (or one JSON object per line, for programs that read the log)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from deepfit.errors import ConfigError
from deepfit.train.callbacks.base import CALLBACKS, Callback, FitView, Logs
from deepfit.train.callbacks.epoch_lines import EpochLayout, epoch_cells, epoch_keys, epoch_layout, json_line

Style = Literal["auto", "plain", "json"]
STYLES = ("auto", "plain", "json")


@CALLBACKS.register("progress", summary="a progress bar per epoch in a terminal, and one aligned line per epoch")
class ProgressBar(Callback):
    """A rich progress bar in a terminal or notebook (the running loss read at each `on_steps` event, a few
    times a second, one sync each) and one line per finished epoch under a header printed once.

    Args:
        console: where to print; defaults to stderr, or the notebook's output in Jupyter.
        style: `auto`: the bar where the console is a terminal or a notebook, and only the epoch lines where
            it is not (a pipe, a file, CI), which a bar would fill with redrawn frames; `plain`: only the
            lines; `json`: one JSON object per line (`{"event": "epoch", "epoch": 1, "loss": ...}`).
        notices: lines to print once, before the first epoch (what an automatic setting chose).

    With K members trained at once, the bar shows their mean loss and the epoch line the best member.
    The lines are laid out for the console's width (short column names and a legend when the full ones
    do not fit) and never wrap.
    """

    order = 90

    def __init__(self, console: Console | None = None, *, style: Style = "auto", notices: Sequence[str] = ()) -> None:
        if style not in STYLES:
            raise ConfigError(f"progress style: expected one of {', '.join(STYLES)}, got {style!r}")
        self.console = console or _default_console()
        self.style = style
        self._notices = list(notices)
        self._stage: tuple[str, int | None] | None = None
        self._epochs: int | None = None  # the denominator shown: the fit's target, or a staged run's total
        self._layout: EpochLayout | None = None
        self._legend_shown = False
        self._progress: Progress | None = None
        self._task = None

    @property
    def draws_bar(self) -> bool:
        """Whether a bar is drawn during each epoch (style `auto` on a terminal or in a notebook)."""
        return self.style == "auto" and (self.console.is_terminal or self.console.is_jupyter)

    def begin_stage(self, name: str, *, epochs: int | None = None) -> None:
        """Name the stage the next fit trains (`stage 1 of 2: reused layers frozen`), printed when it begins;
        `epochs` is the whole run's epochs, shown as the epoch counter's denominator instead of the fit's."""
        self._stage = (name, epochs)

    def on_fit_begin(self, view: FitView, logs: Logs) -> None:
        for notice in self._notices:  # wrapped at words on a terminal, one line in a log
            self._say(json_line("notice", text=notice) if self.style == "json" else notice, wrap=self.draws_bar)
        self._notices = []
        self._layout = None  # a new fit (a new stage) prints its header again
        self._epochs = logs["epochs"]
        if self._stage is not None:
            name, total = self._stage
            self._epochs = total or self._epochs
            self._say(json_line("stage", name=name) if self.style == "json" else name)
            self._stage = None

    def on_epoch_begin(self, view: FitView, logs: Logs) -> None:
        if not self.draws_bar:
            return
        self._progress = Progress(
            TextColumn(f"epoch {view.epoch}/{self._epochs or view.epochs}"),
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
        epochs = self._epochs or view.epochs
        if self.style == "json":
            self._say(json_line("epoch", **{"epoch": logs["epoch"], "epochs": epochs, **logs}))
            return
        keys = epoch_keys(logs)
        cells = epoch_cells(logs, f"{logs['epoch']}/{epochs}")
        if self._layout is None or list(self._layout.keys) != keys:
            self._layout = epoch_layout(keys, cells, self.console.width)
            if self._layout.legend and not self._legend_shown:
                self._say("columns: " + self._layout.legend)
                self._legend_shown = True
            self._say(self._layout.header())
        self._say(self._layout.line(cells))

    def on_fit_end(self, view: FitView, logs: Logs) -> None:
        self._stop()

    def _say(self, line: str, *, wrap: bool = False) -> None:
        self.console.print(line, highlight=False, markup=False, soft_wrap=not wrap)

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


def progress_for(verbose: int | str, callbacks: Sequence[Callback]) -> ProgressBar | None:
    """The bar `Trainer.fit(verbose=...)` adds: none for 0 or when `callbacks` already show progress, the
    `auto` style for 1 (and `"auto"`), the `plain` one for 2.

    Raises:
        ConfigError: `verbose` is not 0, 1, 2 or "auto".
    """
    styles: dict[int | str, Style | None] = {0: None, 1: "auto", "auto": "auto", 2: "plain"}
    if verbose not in styles:
        raise ConfigError(f"fit(verbose=...): expected 0 (silent), 1 (a progress bar), 2 (one line per epoch) "
                          f"or 'auto', got {verbose!r}")
    style = styles[verbose]
    if style is None or any(isinstance(c, ProgressBar) for c in callbacks):
        return None
    return ProgressBar(style=style)
