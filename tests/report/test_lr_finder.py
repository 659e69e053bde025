import json

import pytest
from matplotlib.image import imread

from deepfit.errors import CheckpointError
from deepfit.report.lr_finder import _loss_range, plot_lr_finder, read_lr_finder

CURVE = {"lrs": [1e-5, 1e-4, 1e-3, 1e-2, 1e-1], "losses": [2.3, 2.2, 1.5, 1.2, 40.0],
         "raw_losses": [2.3, 2.1, 1.4, 1.1, None], "suggestion": 1e-3, "steepest_lr": 1e-3, "optimizer": "sgd"}


def test_a_curve_written_as_json_is_read_back_and_drawn(tmp_path):
    (tmp_path / "lr_find.json").write_text(json.dumps(CURVE))
    curve = read_lr_finder(tmp_path / "lr_find.json")
    assert curve["raw_losses"][-1] is None  # a non-finite loss is written as null
    path = plot_lr_finder(curve, tmp_path / "plots" / "lr_find.png")
    assert imread(path).shape[0] > 300
    no_suggestion = {**CURVE, "suggestion": None, "steepest_lr": None}
    assert plot_lr_finder(no_suggestion, tmp_path / "none.png").stat().st_size > 1000


def test_the_value_axis_stops_at_twice_the_starting_loss():
    low, high = _loss_range(CURVE["losses"], CURVE["raw_losses"])
    assert high == pytest.approx(4.6) and low == pytest.approx(1.1 - 0.05 * 3.5)  # the lowest raw loss shows
    assert _loss_range([None, None], [1.0, 2.0]) is None


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not valid JSON"),
    (json.dumps({"lrs": [1.0], "losses": [1.0]}), "expected the lists lrs, losses, raw_losses, missing raw_losses"),
    ("[1, 2]", "missing lrs, losses, raw_losses"),
])
def test_a_broken_file_is_a_checkpoint_error(tmp_path, text, message):
    (tmp_path / "lr_find.json").write_text(text)
    with pytest.raises(CheckpointError, match=message):
        read_lr_finder(tmp_path / "lr_find.json")
