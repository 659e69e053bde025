import csv
import math

import pytest

from deepfit.errors import OutputError
from deepfit.report.tables import format_cell, markdown_table, write_csv

ROWS = [
    {"epoch": 1, "loss": 0.123456, "val_acc": math.nan, "note": "a|b"},
    {"epoch": 2, "loss": 0.1, "val_acc": 0.875},
]


def test_markdown_table_has_header_separator_and_one_line_per_row():
    lines = markdown_table(ROWS).split("\n")
    assert lines == [
        "| epoch | loss | val_acc | note |",
        "| ---: | ---: | ---: | --- |",
        "| 1 | 0.1235 | – | a\\|b |",
        "| 2 | 0.1000 | 0.8750 | – |",
    ]


def test_markdown_table_uses_given_columns_and_floatfmt():
    table = markdown_table(ROWS, ["loss", "epoch"], floatfmt=".2e")
    assert table.split("\n")[0] == "| loss | epoch |"
    assert table.split("\n")[2] == "| 1.23e-01 | 1 |"


def test_markdown_table_of_nothing_is_empty():
    assert markdown_table([]) == ""
    assert markdown_table([], ["a"]).split("\n") == ["| a |", "| --- |"]


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "–"), (math.nan, "–"), (True, "True"), (3, "3"), (0.5, "0.5000"), (math.inf, "inf"), ("x", "x")],
)
def test_format_cell(value, text):
    assert format_cell(value) == text


def test_csv_round_trips_through_dict_reader(tmp_path):
    rows = [*ROWS, {"epoch": 3, "lr": 1e-3}]
    out = write_csv(rows, tmp_path / "run" / "history.csv")
    with out.open(newline="", encoding="utf-8") as f:
        read = list(csv.DictReader(f))
    assert list(read[0]) == ["epoch", "loss", "val_acc", "note", "lr"]
    assert [int(r["epoch"]) for r in read] == [1, 2, 3]
    assert float(read[0]["loss"]) == 0.123456
    assert math.isnan(float(read[0]["val_acc"]))
    assert read[0]["note"] == "a|b"
    assert read[1]["note"] == ""
    assert float(read[2]["lr"]) == 1e-3


def test_csv_keeps_only_given_columns(tmp_path):
    out = write_csv(ROWS, tmp_path / "h.csv", columns=["loss"])
    assert out.read_text(encoding="utf-8").splitlines() == ["loss", "0.123456", "0.1"]


def test_csv_replaces_existing_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "h.csv"
    target.write_text("old", encoding="utf-8")
    write_csv([{"a": 1}], target)
    assert target.read_text(encoding="utf-8").splitlines() == ["a", "1"]
    assert list(tmp_path.iterdir()) == [target]


def test_csv_into_a_file_path_raises_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(OutputError, match=r"cannot write .*h\.csv"):
        write_csv([{"a": 1}], blocker / "h.csv")


def _render(table, width):
    from rich.console import Console

    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_rich_table_aligns_figures_right_and_keeps_brackets_literal():
    from deepfit.report.tables import rich_table

    rows = [{"variant": "[bold]relu", "val_acc": "0.97 ± 0.01 [±0.02]", "epochs": 3},
            {"variant": "elu", "val_acc": "–", "epochs": 12}]
    text = _render(rich_table(rows, caption="[±h]: the 95% CI half-width"), 120)
    assert "[bold]relu" in text and "[±0.02]" in text and "[±h]: the 95% CI half-width" in text
    lines = text.splitlines()
    three, twelve = next(ln for ln in lines if "relu" in ln), next(ln for ln in lines if "│ elu " in ln)
    assert three.rindex("3 │") == twelve.rindex("12 │") + 1  # right-aligned: the units line up
    assert three.rindex("] │") == twelve.rindex("– │")


def test_rich_table_never_wraps_the_whole_columns():
    from deepfit.report.tables import rich_table

    rows = [{"variant": "lr=0.001,activation=relu", **{f"metric{k}": "0.9705 ± 0.0012 [±0.0031]" for k in range(5)}}]
    assert "lr=0.001,activation=relu" in _render(rich_table(rows, whole=("variant",)), 80)
    assert "lr=0.001,activation=relu" not in _render(rich_table(rows), 80)  # without it the name folds


def test_rich_table_styles_the_cells_named():
    from rich.console import Console

    from deepfit.report.tables import rich_table

    console = Console(width=80, record=True, force_terminal=True, color_system="standard")
    console.print(rich_table([{"verdict": "refuted"}, {"verdict": "inconclusive"}], styles={"refuted": "red"}))
    styled = console.export_text(styles=True)
    assert "\x1b[31mrefuted" in styled and "\x1b[31minconclusive" not in styled


def test_fitting_takes_the_fullest_layout_that_fits_and_the_last_when_none_does():
    from deepfit.report.tables import compact, fitting, natural_width, rich_table

    rows = [{"variant": "lr=0.001,activation=relu", "val_acc": "0.7429 ± 0.0024 [±0.021]"}]
    boxed, narrow = rich_table(rows), compact(rich_table(rows))
    assert natural_width(boxed) == 24 + 24 + 7 and natural_width(narrow) == 24 + 24 + 1  # 3 rules + 4 pads: 1 space
    assert fitting([boxed, narrow], natural_width(boxed)) is boxed
    assert fitting([boxed, narrow], natural_width(boxed) - 1) is narrow
    assert fitting([boxed, narrow], 10) is narrow


def test_a_compact_table_has_no_vertical_rule_and_one_space_between_columns():
    import io

    from rich.console import Console

    from deepfit.report.tables import compact, rich_table

    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(compact(rich_table([{"a": "x", "b": 1.5}])))
    assert out.getvalue().splitlines() == ["a   b", "─────", "x 1.5"]
