"""A Keras-style model summary: one row per layer with its output shape and parameters, and the totals.

torchinfo does the forward pass and the counting; this module keeps its numbers and lays them out as a
rich table. torch and torchinfo are imported only when a summary is made, so `deepfit.report` stays light.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from deepfit.errors import MissingDependencyError
from deepfit.report.tables import compact, fitting

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class LayerRow:
    """One layer: dotted name, class, nesting depth, output shape (batch first), own parameters, trainable ones.

    A container's `params` count its children's too, as torchinfo does; `leaf` tells the layers that do
    the computing from the containers that only group them.
    """

    name: str
    kind: str
    depth: int
    output_shape: tuple[int, ...]
    params: int
    trainable: int
    leaf: bool


@dataclass(frozen=True)
class ModelSummary:
    """The rows of a model's summary and its parameter totals (frozen = total - trainable)."""

    rows: tuple[LayerRow, ...]
    total: int
    trainable: int

    @property
    def frozen(self) -> int:
        return self.total - self.trainable


def summarize(model: nn.Module, input_shape: tuple[int, ...]) -> ModelSummary:
    """Summarise `model` on one sample of `input_shape` (no batch dimension), in evaluation mode.

    The forward pass runs on a batch of one sample under `torch.no_grad`; the model's mode is restored
    afterwards, so batch norm statistics are left as they were, and the global random generator is forked,
    so that a summary at the start of a resumed run does not shift its dropout masks (torchinfo draws its
    input with `torch.rand`).

    Raises:
        MissingDependencyError: torchinfo is not installed.
    """
    import torch

    try:
        import torchinfo
    except ImportError:
        raise MissingDependencyError("a model summary needs torchinfo: pip install 'deepfit[export]'") from None
    was_training = model.training
    try:
        with torch.random.fork_rng(devices=[]):
            stats = torchinfo.summary(
                model.eval(), input_size=(1, *input_shape), verbose=0, col_names=("output_size", "num_params"),
                device="cpu",
            )
    finally:
        model.train(was_training)
    names = {id(module): name for name, module in model.named_modules()}  # dotted names, as in the state dict
    rows = [
        LayerRow(names.get(id(info.module), info.var_name), info.class_name, info.depth, tuple(info.output_size),
                 info.num_params, info.trainable_params, info.is_leaf_layer)
        for info in stats.summary_list
        # depth 0 is the model itself (its figures are the totals); Identity stands in for an absent part
        if info.depth > 0 and info.class_name != "Identity"
    ]
    return ModelSummary(tuple(rows), int(stats.total_params), int(stats.trainable_params))


def summary_table(summary: ModelSummary, *, title: str | None = None, width: int | None = None) -> Table:
    """The summary as a rich table: layer, type, output shape, params, trainable, frozen, then the totals.

    A container (a dense block) shows its children's parameters dimmed in parentheses, since they have
    rows of their own: the plain numbers of each column add up to its total. With `width`, the layout is
    the first that fits without cutting a name: boxed, then without vertical rules, then (nothing frozen)
    without the trainable and frozen columns, which then repeat params (the totals line still says so).
    """
    layouts = [lambda: _table(summary, title, split=True), lambda: compact(_table(summary, title, split=True))]
    if summary.frozen == 0:
        layouts.append(lambda: compact(_table(summary, title, split=False)))
    return fitting((make() for make in layouts), width) if width is not None else layouts[0]()


def _table(summary: ModelSummary, title: str | None, *, split: bool) -> Table:
    table = Table(title=title)
    columns = [("layer", "left"), ("type", "left"), ("output shape", "left"), ("params", "right")]
    if split:
        columns += [("trainable", "right"), ("frozen", "right")]
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)
    for row in summary.rows:
        shape = "(" + ", ".join(["batch", *map(str, row.output_shape[1:])]) + ")"
        counts = [_count(n, row.leaf) for n in (row.params, row.trainable, row.params - row.trainable)]
        table.add_row("  " * (row.depth - 1) + row.name, row.kind, shape, *counts[:len(columns) - 3])
    table.add_section()
    totals = (summary.total, summary.trainable, summary.frozen)
    table.add_row("total", "", "", *(f"{n:,}" for n in totals[:len(columns) - 3]), style="bold")
    return table


def _count(n: int, leaf: bool) -> str:
    return f"{n:,}" if leaf else f"[dim]({n:,})[/dim]"


def totals_line(summary: ModelSummary) -> str:
    """`total params: 266,610  trainable: 266,610  frozen: 0`, the line under the table."""
    return f"total params: {summary.total:,}  trainable: {summary.trainable:,}  frozen: {summary.frozen:,}"


def print_summary(console: Console, summary: ModelSummary, *, title: str | None = None) -> None:
    """The table and its totals line, as `deepfit summary` and the top of `deepfit train` show them."""
    console.print(summary_table(summary, title=title, width=console.width))
    console.print(totals_line(summary), highlight=False)


def summary_text(summary: ModelSummary, *, title: str | None = None, width: int = 100) -> str:
    """The printed summary as plain text (no colours), for `summary.txt`."""
    console = Console(file=io.StringIO(), width=width, color_system=None, record=True)
    print_summary(console, summary, title=title)
    return console.export_text()
