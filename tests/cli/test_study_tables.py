"""The study and sweep results tables laid out for the terminal's width: no cell wraps, no line is longer
than the width, and every figure is shown whatever the width."""

import io

import pytest
from rich.console import Console

from deepfit.cli.study import print_results
from deepfit.studies.runner import StudyResult, summarize_runs
from deepfit.studies.spec import Study

VARIANTS = ["lr=0.001,activation=relu", "lr=0.003,activation=selu"]


def _result() -> StudyResult:
    runs = [{"variant": v, "seed": s, "epochs": 2, "seconds_per_epoch": 0.6302 + s / 100, "members": 4,
             "train_acc": 0.9153 - i / 10 + s / 50, "val_acc": 0.7412 + i / 100 + s / 300,
             "val_loss": 0.7524 + s / 80, "test_acc": 0.7275 - s / 200}
            for i, v in enumerate(VARIANTS) for s in range(2)]
    study = Study(name="sweep", claim="a sweep", base={}, variants={v: {} for v in VARIANTS}, seeds=2, kind="sweep")
    return StudyResult(study, runs, summarize_runs(runs, VARIANTS), {v: [] for v in VARIANTS})


def _render(width: int) -> str:
    out = io.StringIO()
    print_results(_result(), Console(file=out, width=width, color_system=None, legacy_windows=False))
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 120])
def test_results_table_fits_the_width_without_wrapping_a_cell(width):
    text = _render(width)
    assert max(len(line) for line in text.splitlines()) <= width
    for variant in VARIANTS:
        assert any(variant in line for line in text.splitlines())  # whole on one line, never cut
    assert "0.7429" in text and "seconds_per_epoch" in text  # the second variant's mean val_acc, the time


def test_wide_terminal_shows_each_figure_on_one_line_narrow_one_row_per_metric():
    wide, narrow = _render(200), _render(80)
    assert any("0.7429 ± 0.0024 [±0.021]" in line for line in wide.splitlines())
    row = next(line for line in narrow.splitlines() if "val_acc" in line and "0.7429" not in line and "0.7" in line)
    assert "±" in row and "0.0024" in row
