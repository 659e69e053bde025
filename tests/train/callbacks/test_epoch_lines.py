import json
import math

from deepfit.train.callbacks.epoch_lines import epoch_cells, epoch_keys, epoch_layout, figure, json_line

LOGS = {"epoch": 3, "loss": 0.4807, "acc": 0.8295, "penalty": 0.0123, "nonfinite": 0.0, "grad_norm": 1.732,
        "clip_fraction": 0.25, "val_loss": 1.266, "val_acc": 0.7602, "lr": 0.000794, "momentum": 0.9,
        "epoch_time_s": 0.43}


def _lines(width):
    keys = epoch_keys(LOGS)
    cells = epoch_cells(LOGS, "3/10")
    layout = epoch_layout(keys, cells, width)
    return layout, layout.header(), layout.line(cells)


def test_full_column_names_when_they_fit_in_120_columns():
    layout, header, line = _lines(120)
    assert header.split() == ["epoch", "loss", "acc", "penalty", "grad_norm", "clip_fraction", "val_loss",
                              "val_acc", "lr", "momentum", "time"]
    assert layout.legend == "" and len(header) <= 120 and len(line) <= 120


def test_short_names_with_a_legend_in_80_columns_and_every_figure_still_shown():
    layout, header, line = _lines(80)
    assert header.split() == ["ep", "loss", "acc", "pen", "gnorm", "clip", "vloss", "vacc", "lr", "mom", "s"]
    assert "vloss = val_loss" in layout.legend and "s = seconds" in layout.legend
    assert len(header) <= 80 and len(line) <= 80
    assert line.split() == ["3/10", "0.4807", "0.8295", "0.0123", "1.7320", "0.2500", "1.2660", "0.7602",
                            "0.000794", "0.9", "0.4s"]


def test_each_cell_sits_under_the_right_edge_of_its_header():
    _, header, line = _lines(120)
    assert header.index("val_acc") + len("val_acc") == line.index("0.7602") + len("0.7602")


def test_members_show_how_many_train_and_the_best_val_acc():
    logs = {"epoch": 2, "epoch_time_s": 1.0, "members": [{"val_acc": 0.7, "loss": 1.0}, {"val_acc": 0.8, "loss": 2.0}]}
    keys = epoch_keys(logs)
    cells = epoch_cells(logs, "2/5")
    assert epoch_layout(keys, cells, 80).line(cells).split() == ["2/5", "2", "0.8000", "1.0s"]


def test_figures_scientific_outside_a_readable_range_and_nan_kept():
    assert figure("loss", 1.5e-5) == "1.50e-05" and figure("loss", 123456.0) == "1.23e+05"
    assert figure("loss", math.nan) == "nan" and figure("epoch", 3) == "3"


def test_json_line_writes_null_for_a_non_finite_figure():
    assert json.loads(json_line("epoch", epoch=1, loss=math.inf)) == {"event": "epoch", "epoch": 1, "loss": None}
