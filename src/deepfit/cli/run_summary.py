"""The model summary at the top of `deepfit train`: a callback that prints it when fitting begins and keeps its
text for the run directory's `summary.txt` (imported when the command runs, since it needs torch)."""

from __future__ import annotations

import copy
from typing import Any

from rich.console import Console

from deepfit.report.summary import print_summary, summarize, summary_text
from deepfit.train import Callback
from deepfit.train.callbacks.base import Logs


class SummaryAtStart(Callback):
    """Summarise the model when fitting first begins: print it on `console` (None: print nothing, as under
    `--quiet`) and keep its text in `text`, for the run directory's `summary.txt`.

    The summary runs on a copy of the model, on the CPU, so the training model and its device are untouched.
    """

    def __init__(self, console: Console | None, *, title: str | None = None) -> None:
        self.console, self.title = console, title
        self.text: str | None = None

    def on_fit_begin(self, view: Any, logs: Logs) -> None:
        if self.text is not None:  # a staged run fits more than once: the first stage's summary stands
            return
        summary = summarize(copy.deepcopy(view.model), tuple(logs["input_shape"]))
        self.text = summary_text(summary, title=self.title)
        if self.console is not None:
            print_summary(self.console, summary, title=self.title)
