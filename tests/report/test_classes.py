import math

import numpy as np
import pytest
from matplotlib.image import imread

from deepfit.errors import ShapeError
from deepfit.report.classes import class_rows, plot_confusion_matrix, precision_recall
from deepfit.report.plots import DPI

# rows: true class, columns: predicted class
MATRIX = [[8, 2, 0],
          [1, 6, 3],
          [0, 0, 0]]


def test_precision_and_recall_match_the_hand_computation():
    precision, recall = precision_recall(MATRIX)
    # precision: diagonal / column sums (9, 8, 3); recall: diagonal / row sums (10, 10, 0)
    assert precision[:2] == pytest.approx([8 / 9, 6 / 8])
    assert precision[2] == 0.0  # predicted 3 times, never right
    assert recall[:2] == pytest.approx([0.8, 0.6])
    assert math.isnan(recall[2])  # no sample of the class


def test_a_class_never_predicted_has_no_precision():
    precision, recall = precision_recall(np.array([[3, 0], [2, 0]]))
    assert math.isnan(precision[1]) and recall[1] == 0.0


def test_class_rows_give_names_percentages_and_the_commonest_confusion():
    rows = class_rows(MATRIX, ["cat", "dog", "eel"])
    assert rows[0] == {"class": "cat", "samples": 10, "precision": "88.9%", "recall": "80.0%",
                       "most often predicted instead": "dog (2)"}
    assert rows[1]["precision"] == "75.0%" and rows[1]["most often predicted instead"] == "eel (3)"
    assert rows[2] == {"class": "eel", "samples": 0, "precision": "0.0%", "recall": "–",
                       "most often predicted instead": ""}


def test_class_rows_without_names_use_the_indices():
    assert [r["class"] for r in class_rows(MATRIX)] == ["0", "1", "2"]


@pytest.mark.parametrize(("matrix", "names", "message"), [
    ([[1, 2, 3]], None, r"expected a square 2-D array, got shape \(1, 3\)"),
    (MATRIX, ["cat", "dog"], "3 classes but 2 class names"),
])
def test_bad_matrices_and_names_are_shape_errors(matrix, names, message):
    with pytest.raises(ShapeError, match=message):
        class_rows(matrix, names)


def test_confusion_matrix_scales_with_classes_and_survives_empty_row(tmp_path):
    small = np.array([[5, 1], [0, 0]])
    big = np.eye(12, dtype=int) * 50 + 1
    h_small, w_small, _ = imread(plot_confusion_matrix(small, ["cat", "dog"], tmp_path / "a.png")).shape
    h_big, w_big, _ = imread(plot_confusion_matrix(big, None, tmp_path / "b.png", normalize=False)).shape
    assert min(h_small, w_small) >= 5 * DPI
    assert h_big > h_small and w_big > w_small


@pytest.mark.parametrize(
    ("matrix", "names", "match"),
    [
        (np.zeros((2, 3), dtype=int), None, r"square 2-D array, got shape \(2, 3\)"),
        (np.zeros((3, 3), dtype=int), ["a", "b"], "3 classes but 2 class names"),
    ],
)
def test_confusion_matrix_rejects_bad_shapes(tmp_path, matrix, names, match):
    with pytest.raises(ShapeError, match=match):
        plot_confusion_matrix(matrix, names, tmp_path / "cm.png")
