import math

import numpy as np
import pytest
from matplotlib.image import imread

from deepfit.errors import ConfigError, ShapeError
from deepfit.report.plots import (
    DPI,
    _seed_band,
    best_epoch,
    learning_curves_figure,
    plot_bar_with_ci,
    plot_learning_curves,
    plot_metric_bands,
    plot_series,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _history(epochs, *, lr_decay=1.0):
    return [
        {
            "epoch": e,
            "loss": 1.0 / e,
            "acc": 1 - 0.5 / e,
            "val_loss": 1.1 / e + 0.01 * e,
            "val_acc": 1 - 0.6 / e,
            "lr": 0.01 * lr_decay**e,
            "epoch_time_s": 1.5,
        }
        for e in range(1, epochs + 1)
    ]


def _png_shape(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return imread(path).shape  # (height, width, channels)


def test_learning_curves_write_png_of_figure_size(tmp_path):
    out = plot_learning_curves(_history(10), tmp_path / "plots" / "curves.png")
    assert out == tmp_path / "plots" / "curves.png"
    height, width, _ = _png_shape(out)
    assert (width, height) == (round(11.0 * DPI), round(4.2 * DPI))


def test_learning_curves_add_lr_panel_only_when_lr_varies(tmp_path):
    constant = _png_shape(plot_learning_curves(_history(8), tmp_path / "constant.png"))
    decaying = _png_shape(plot_learning_curves(_history(8, lr_decay=0.5), tmp_path / "decaying.png"))
    assert decaying[0] > constant[0] + 100
    assert decaying[1] == constant[1]


def test_learning_curves_without_validation_or_accuracy_still_write(tmp_path):
    history = [{"epoch": e, "loss": 1.0 / e, "val_loss": math.nan} for e in range(1, 6)]
    height, width, _ = _png_shape(plot_learning_curves(history, tmp_path / "train_only.png"))
    assert height > 300 and width > 800


def test_learning_curves_of_empty_history_still_write(tmp_path):
    assert _png_shape(plot_learning_curves([], tmp_path / "empty.png"))[0] > 300


# val_acc peaks at epoch 4 while val_loss is lowest at epoch 2: early stopping on val_acc keeps epoch 4
DIVERGING = [{"epoch": e, "loss": 1.0 / e, "acc": 0.5 + 0.1 * e, "val_loss": vl, "val_acc": va}
             for e, vl, va in [(1, 0.9, 0.70), (2, 0.5, 0.75), (3, 0.6, 0.78), (4, 0.7, 0.81), (5, 0.8, 0.80)]]


def test_best_epoch_reads_accuracy_as_higher_better_and_loss_as_lower_better():
    assert best_epoch(DIVERGING, "val_acc") == 4
    assert best_epoch(DIVERGING, "val_loss") == 2
    assert best_epoch(DIVERGING, "val_auc") is None
    assert best_epoch([{"epoch": 1, "val_loss": math.nan}, {"epoch": 2, "val_loss": 3.0}], "val_loss") == 2


def _markers(fig):
    return [(line.get_xdata()[0], line.get_label()) for ax in fig.axes for line in ax.lines
            if line.get_linestyle() == ":"]


def test_learning_curves_mark_the_monitored_metrics_best_epoch_on_both_panels():
    marks = _markers(learning_curves_figure(DIVERGING, monitor="val_acc"))
    assert marks == [(4, "best val_acc (epoch 4)")] * 2
    assert _markers(learning_curves_figure(DIVERGING)) == [(2, "best val_loss (epoch 2)")] * 2


def test_learning_curves_mark_the_epoch_given():
    assert _markers(learning_curves_figure(DIVERGING, monitor="val_acc", best=3)) == [(3, "best val_acc (epoch 3)")] * 2
    assert _markers(learning_curves_figure([{"epoch": 1, "loss": 0.5}])) == []


def test_seed_band_averages_the_seeds_that_reached_each_epoch():
    histories = [
        [{"epoch": 1, "val_acc": 0.5}, {"epoch": 2, "val_acc": 0.7}, {"epoch": 3, "val_acc": 0.9}],
        [{"epoch": 1, "val_acc": 0.3}, {"epoch": 2, "val_acc": math.nan}],
    ]
    epochs, mean, low, high, counts = _seed_band(histories, "val_acc", "minmax")
    np.testing.assert_array_equal(epochs, [1, 2, 3])
    np.testing.assert_allclose(mean, [0.4, 0.7, 0.9])
    np.testing.assert_allclose(low, [0.3, 0.7, 0.9])
    np.testing.assert_allclose(high, [0.5, 0.7, 0.9])
    np.testing.assert_array_equal(counts, [2, 1, 1])
    _, _, low, high, _ = _seed_band(histories, "val_acc", "std")
    np.testing.assert_allclose(low, [0.3, 0.7, 0.9])
    np.testing.assert_allclose(high, [0.5, 0.7, 0.9])


def test_metric_bands_with_unequal_seed_lengths_write(tmp_path):
    runs = {
        "he_normal": [_history(10), _history(6), _history(8)],
        "glorot_uniform": [_history(4), _history(10)],
        "no_metric": [[{"epoch": 1, "loss": 1.0}]],
    }
    for band in ("minmax", "std"):
        out = plot_metric_bands(runs, "val_acc", tmp_path / f"bands_{band}.png", band=band)
        height, width, _ = _png_shape(out)
        assert (width, height) == (round(9.0 * DPI), round(5.2 * DPI))


def test_metric_bands_reject_unknown_band(tmp_path):
    with pytest.raises(ConfigError, match="band must be one of minmax, std, got 'iqr'"):
        plot_metric_bands({"a": [_history(3)]}, "val_acc", tmp_path / "x.png", band="iqr")


@pytest.mark.parametrize("horizontal", [None, True, False])
def test_bar_with_ci_writes_png(tmp_path, horizontal):
    out = plot_bar_with_ci(
        ["baseline", "batchnorm", "selu"],
        [0.9705, 0.981, 0.994],
        [0.002, math.nan, 0.001],
        tmp_path / "bars.png",
        ylabel="test accuracy",
        horizontal=horizontal,
        value_range=(0.95, 1.0),
    )
    height, width, _ = _png_shape(out)
    assert height >= 3 * DPI and width >= 5 * DPI


def test_bar_with_ci_rejects_mismatched_lengths(tmp_path):
    with pytest.raises(ShapeError, match="2 names, 1 means and 2 half widths"):
        plot_bar_with_ci(["a", "b"], [1.0], [0.1, 0.1], tmp_path / "bars.png", ylabel="acc")


def test_series_with_log_axes_and_marks_writes(tmp_path):
    lrs = np.logspace(-5, 1, 50)
    out = plot_series(
        lrs,
        {"loss": 2.0 - np.log10(lrs) * 0.1},
        tmp_path / "lr_finder.png",
        xlabel="learning rate",
        ylabel="loss",
        logx=True,
        logy=True,
        marks={"suggested lr": 1e-2, "min loss": 1.0},
    )
    height, width, _ = _png_shape(out)
    assert (width, height) == (round(9.0 * DPI), round(5.2 * DPI))


def test_series_with_many_curves_writes(tmp_path):
    series = {f"epoch {e}": np.exp(-0.1 * e * np.arange(6)) for e in range(1, 16)}
    out = plot_series(range(1, 7), series, tmp_path / "grad_norm.png", xlabel="depth", ylabel="grad norm")
    assert _png_shape(out)[0] > 300


def test_series_rejects_length_mismatch(tmp_path):
    with pytest.raises(ShapeError, match="series 'loss' has 2 values, expected 3"):
        plot_series([1, 2, 3], {"loss": [1.0, 2.0]}, tmp_path / "s.png", xlabel="x", ylabel="y")


def test_plot_format_follows_suffix(tmp_path):
    out = plot_series([1, 2], {"y": [1, 2]}, tmp_path / "s.svg", xlabel="x", ylabel="y")
    assert out.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_learning_curves_mark_a_staged_runs_stage_boundary_on_both_panels():
    fig = learning_curves_figure(DIVERGING, stage=2)
    lines = [(line.get_xdata()[0], line.get_label()) for ax in fig.axes for line in ax.get_lines()
             if line.get_linestyle() == "-."]
    assert lines == [(2.5, "unfrozen after epoch 2")] * 2
