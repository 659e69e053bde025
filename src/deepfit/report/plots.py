"""Figures of a run and of a study, written as image files with matplotlib's object-oriented API.

Each function builds its own `Figure` (never pyplot, never `matplotlib.use`), so importing or calling
deepfit leaves matplotlib's global state alone. The file format follows the suffix (.png, .svg, .pdf).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from deepfit.atomic import atomic_path
from deepfit.errors import ConfigError, ShapeError

DPI = 110
"""Sharp on a laptop screen, small enough to embed several figures in one HTML report."""

_BANDS = ("minmax", "std")


def new_figure(width_in: float, height_in: float) -> Figure:
    """A pyplot-free figure of the given size in inches, at `DPI`, with a tight layout."""
    return Figure(figsize=(width_in, height_in), dpi=DPI, layout="tight")


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write `fig` atomically to `path`, in the format its suffix names (PNG without one)."""
    target = Path(path)
    fmt = target.suffix.lstrip(".").lower() or "png"
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format=fmt, dpi=DPI)
    return target


def _column(history: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    """The values of `key` over the rows, NaN where a row lacks it."""
    return np.array([_as_float(row.get(key)) for row in history], dtype=float)


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _epochs(history: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The `epoch` of each row, or its 1-based position where the row has none."""
    return np.array([_as_float(row.get("epoch", i + 1)) for i, row in enumerate(history)], dtype=float)


def _no_data(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} recorded", ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _finish(ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if xlabel == "epoch":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize="small")


def best_epoch(history: Sequence[Mapping[str, Any]], monitor: str = "val_loss") -> int | None:
    """The epoch of `monitor`'s best finite value (highest for a name with "acc", lowest otherwise, as early
    stopping reads it; the first on a tie), or None when no row has it."""
    values = _column(history, monitor)
    finite = np.isfinite(values)
    if not finite.any():
        return None
    sign = -1.0 if "acc" in monitor else 1.0
    best = int(np.argmin(np.where(finite, sign * values, np.inf)))
    return int(_epochs(history)[best])


def _train_valid_panel(ax: Axes, history: Sequence[Mapping[str, Any]], key: str, name: str,
                       best: tuple[str, int] | None, stage: int | None = None) -> None:
    x = _epochs(history)
    train, valid = _column(history, key), _column(history, f"val_{key}")
    if np.isnan(train).all() and np.isnan(valid).all():
        _no_data(ax, name)
        ax.set_title(name.capitalize())
        return
    for values, label in ((train, "train"), (valid, "validation")):
        if not np.isnan(values).all():
            ax.plot(x, values, marker="o", markersize=3, label=label)
    if best is not None:
        ax.axvline(best[1], color="0.5", linestyle=":", label=f"best {best[0]} (epoch {best[1]})")
    if stage is not None:
        ax.axvline(stage + 0.5, color="tab:red", linestyle="-.", label=f"unfrozen after epoch {stage}")
    _finish(ax, name.capitalize(), "epoch", name)


def _lr_varies(lr: np.ndarray) -> bool:
    finite = lr[np.isfinite(lr)]
    return finite.size > 1 and not np.allclose(finite, finite[0], rtol=1e-9, atol=0.0)


def plot_learning_curves(
    history: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    monitor: str = "val_loss",
    best: int | None = None,
    stage: int | None = None,
) -> Path:
    """Plot loss and accuracy per epoch, training against validation, and write the figure to `path`.

    The gap between the two curves is the first sign of overfitting (Géron, ch. 11). A dotted line on
    both panels marks epoch `best` of `monitor` (by default its best epoch in `history`), the one early
    stopping restores. `stage`, for staged fine-tuning, is the last epoch with the reused layers frozen: a
    dash-dot line after it marks the stage boundary. When `lr` changes during the run, a third, short panel
    shows it on a log axis, so a jump in the loss can be read against the schedule. Missing keys and NaN
    values are skipped; a panel without data says so.
    """
    return save_figure(learning_curves_figure(history, monitor=monitor, best=best, stage=stage), path)


def learning_curves_figure(
    history: Sequence[Mapping[str, Any]], *, monitor: str = "val_loss", best: int | None = None,
    stage: int | None = None,
) -> Figure:
    """The figure `plot_learning_curves` writes: loss and accuracy panels, and `lr` when it varies."""
    best = best if best is not None else best_epoch(history, monitor)
    marker = (monitor, best) if best is not None else None
    lr = _column(history, "lr")
    show_lr = _lr_varies(lr)
    fig = new_figure(11.0, 5.8 if show_lr else 4.2)
    if show_lr:
        grid = fig.add_gridspec(2, 2, height_ratios=(3.0, 1.2))
        loss_ax, acc_ax = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
        lr_ax = fig.add_subplot(grid[1, :])
        lr_ax.plot(_epochs(history), lr, color="tab:purple", marker=".")
        if (lr[np.isfinite(lr)] > 0).all():
            lr_ax.set_yscale("log")
        _finish(lr_ax, "Learning rate", "epoch", "lr")
    else:
        loss_ax, acc_ax = fig.subplots(1, 2)
    _train_valid_panel(loss_ax, history, "loss", "loss", marker, stage)
    _train_valid_panel(acc_ax, history, "acc", "accuracy", marker, stage)
    return fig


def _seed_band(histories: Sequence[Sequence[Mapping[str, Any]]], metric: str, band: str):
    """Per epoch over seeds: (epochs, mean, low, high, seeds with a value), NaN-aware.

    Seeds are aligned by their `epoch` key, so a seed that stopped early only leaves out its
    missing epochs. Epochs with no value in any seed are dropped.
    """
    per_seed = [dict(zip(_epochs(h), _column(h, metric), strict=True)) for h in histories]
    epochs = np.array(sorted({e for seed in per_seed for e in seed if np.isfinite(e)}), dtype=float)
    values = np.array([[seed.get(e, math.nan) for e in epochs] for seed in per_seed], dtype=float)
    values = values.reshape(len(per_seed), epochs.size)  # (seeds, epochs)
    present = ~np.isnan(values)
    counts = present.sum(axis=0)
    keep = counts > 0
    epochs, values, present, counts = epochs[keep], values[:, keep], present[:, keep], counts[keep]
    with np.errstate(invalid="ignore"):  # a diverged seed (inf) makes inf - inf; its band is NaN
        mean = np.where(present, values, 0.0).sum(axis=0) / np.maximum(counts, 1)
        if band == "minmax":
            low = np.where(present, values, np.inf).min(axis=0)
            high = np.where(present, values, -np.inf).max(axis=0)
        else:
            var = np.where(present, (values - mean) ** 2, 0.0).sum(axis=0) / np.maximum(counts, 1)
            low, high = mean - np.sqrt(var), mean + np.sqrt(var)
    return epochs, mean, low, high, counts


def plot_metric_bands(
    runs: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]],
    metric: str,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    band: str = "minmax",
) -> Path:
    """Plot `metric` per epoch for each variant of a study: the mean over seeds and a shaded band.

    One seed is an anecdote; the band shows whether two variants differ by more than seeds do.
    When seeds stop at different epochs (early stopping), each epoch averages the seeds that reached
    it, and the line turns dashed where fewer than all seeds remain.

    Args:
        runs: variant name -> one history per seed.
        band: "minmax" shades min..max over seeds, "std" shades mean ± one standard deviation.

    Raises:
        ConfigError: `band` is not one of "minmax", "std".
    """
    if band not in _BANDS:
        raise ConfigError(f"plot_metric_bands: band must be one of {', '.join(_BANDS)}, got {band!r}")
    fig = new_figure(9.0, 5.2)
    ax = fig.subplots()
    partial_drawn = False
    for variant, histories in runs.items():
        epochs, mean, low, high, counts = _seed_band(histories, metric, band)
        if epochs.size == 0:
            continue
        full = counts == len(histories)
        (line,) = ax.plot(
            np.where(full, epochs, np.nan),
            np.where(full, mean, np.nan),
            label=f"{variant} (n={len(histories)})",
        )
        if not full.all():
            # Overlap one point with the solid part so the line stays continuous.
            partial = ~full | np.convolve(np.pad(~full, 1), [1, 1, 1], mode="valid").astype(bool)  # len(full), also < 3
            ax.plot(
                epochs[partial],
                mean[partial],
                color=line.get_color(),
                linestyle="--",
                label=None if partial_drawn else "fewer seeds (stopped early)",
            )
            partial_drawn = True
        ax.fill_between(epochs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    if not ax.lines:
        _no_data(ax, f"'{metric}'")
    spread = "min–max" if band == "minmax" else "±1 std"
    _finish(ax, title or f"{metric}: mean over seeds, band = {spread}", "epoch", metric)
    return save_figure(fig, path)


def _label_bar(ax: Axes, position: float, mean: float, half_width: float, *, horizontal: bool) -> None:
    """Write "mean ± half width" just past the end of the error bar, on the side the bar grows."""
    sign = -1.0 if mean < 0 else 1.0
    end = mean + sign * half_width
    text = f"{mean:.4g} ± {half_width:.2g}" if half_width > 0 else f"{mean:.4g}"
    if horizontal:
        ax.annotate(
            text,
            (end, position),
            xytext=(4 * sign, 0),
            textcoords="offset points",
            ha="left" if sign > 0 else "right",
            va="center",
            fontsize="small",
        )
    else:
        ax.annotate(
            text,
            (position, end),
            xytext=(0, 4 * sign),
            textcoords="offset points",
            ha="center",
            va="bottom" if sign > 0 else "top",
            fontsize="small",
        )


def plot_bar_with_ci(
    names: Sequence[str],
    means: Sequence[float],
    half_widths: Sequence[float],
    path: str | os.PathLike[str],
    *,
    ylabel: str,
    title: str | None = None,
    horizontal: bool | None = None,
    value_range: tuple[float, float] | None = None,
) -> Path:
    """Draw one bar per variant with its 95% confidence interval as an error bar, and write it to `path`.

    Each bar is labelled "mean ± half width", so differences too small to see at bar scale can still
    be read. A NaN half width (a single seed) draws no error bar.

    Args:
        ylabel: label of the value axis (the x axis when the bars are horizontal).
        half_widths: half widths of the 95% intervals, in the unit of `means`.
        horizontal: bars along x; by default chosen when there are more than 6 bars or a name is
            longer than 12 characters, so long variant names stay readable.
        value_range: limits of the value axis. Bars start at zero, so accuracies of 0.97 and 0.99
            look alike at full scale; a range such as (0.95, 1.0) makes the intervals visible.

    Raises:
        ShapeError: `names`, `means` and `half_widths` differ in length.
    """
    if not len(names) == len(means) == len(half_widths):
        raise ShapeError(
            f"plot_bar_with_ci: {len(names)} names, {len(means)} means and "
            f"{len(half_widths)} half widths; expected equal lengths"
        )
    labels = [str(n) for n in names]
    mean = np.asarray(means, dtype=float)
    errors = np.nan_to_num(np.asarray(half_widths, dtype=float), nan=0.0)
    if horizontal is None:
        horizontal = len(labels) > 6 or max((len(s) for s in labels), default=0) > 12
    positions = np.arange(len(labels))
    if horizontal:
        fig = new_figure(9.0, max(3.0, 0.5 * len(labels) + 1.5))
        ax = fig.subplots()
        ax.barh(positions, mean, xerr=errors, capsize=4, color="tab:blue", alpha=0.8)
        ax.set_yticks(positions, labels)
        ax.invert_yaxis()  # first name on top, as in a table
        _finish(ax, title or f"{ylabel} (mean ± 95% CI)", ylabel, "")
    else:
        fig = new_figure(max(5.0, 0.9 * len(labels) + 2.0), 5.0)
        ax = fig.subplots()
        ax.bar(positions, mean, yerr=errors, capsize=4, color="tab:blue", alpha=0.8)
        rotation = 30 if max((len(s) for s in labels), default=0) > 6 else 0
        ax.set_xticks(
            positions, labels, rotation=rotation, ha="right" if rotation else "center", rotation_mode="anchor"
        )
        _finish(ax, title or f"{ylabel} (mean ± 95% CI)", "", ylabel)
    ax.grid(False, axis="y" if horizontal else "x")
    for position, m, h in zip(positions, mean, errors, strict=True):
        _label_bar(ax, position, m, h, horizontal=horizontal)
    ax.margins(**{"x" if horizontal else "y": 0.2})  # room for the labels past the error bars
    if value_range is not None:
        (ax.set_xlim if horizontal else ax.set_ylim)(*value_range)
    return save_figure(fig, path)


def plot_series(
    xs: Sequence[float],
    series: Mapping[str, Sequence[float]],
    path: str | os.PathLike[str],
    *,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    logy: bool = False,
    title: str | None = None,
    marks: Mapping[str, float] | None = None,
    ylim: tuple[float, float] | None = None,
) -> Path:
    """Plot several named series against shared `xs` and write the figure to `path`.

    For curves that are not per-epoch histories: loss against learning rate from the LR finder
    (`logx`), gradient norm per layer with depth on x (`logy`). Each entry of `marks` draws a labelled
    vertical line, such as the suggested learning rate; `ylim` bounds the value axis. With more than 10
    series the colours follow a sequential map, so an ordered family (one curve per epoch) reads as a
    progression.

    Raises:
        ShapeError: a series does not have one value per entry of `xs`.
    """
    x = np.asarray(xs, dtype=float)
    for name, values in series.items():
        if len(values) != x.size:
            raise ShapeError(f"plot_series: series {name!r} has {len(values)} values, expected {x.size}")
    fig = new_figure(9.0, 5.2)
    ax = fig.subplots()
    many = len(series) > 10
    colours = colormaps["viridis"](np.linspace(0.0, 0.9, len(series))) if many else [None] * len(series)
    for (name, values), colour in zip(series.items(), colours, strict=True):
        ax.plot(
            x,
            np.asarray(values, dtype=float),
            label=str(name),
            color=colour,
            marker="o" if x.size <= 30 else None,
            markersize=3,
        )
    mark_styles = itertools.cycle((("tab:red", "--"), ("tab:green", "-."), ("tab:purple", ":")))
    for (label, at), (colour, style) in zip((marks or {}).items(), mark_styles, strict=False):
        ax.axvline(at, color=colour, linestyle=style, label=f"{label} = {at:.3g}")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    if not logx and np.all(x == np.round(x)):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layer indices, steps: no 2.5
    _finish(ax, title or f"{ylabel} against {xlabel}", xlabel, ylabel)
    if many:
        ax.legend(fontsize="x-small", ncols=2)
    return save_figure(fig, path)
