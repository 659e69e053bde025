import math

import pytest
import torch

from deepfit.diagnose.calibration import expected_calibration_error, negative_log_likelihood


def test_nll_is_minus_log_of_the_true_class_probability():
    probs = torch.tensor([[0.5, 0.5], [0.1, 0.9]])
    y = torch.tensor([0, 1])
    assert negative_log_likelihood(probs, y) == pytest.approx(-(math.log(0.5) + math.log(0.9)) / 2)


def test_ece_of_a_perfectly_calibrated_predictor_is_zero():
    probs = torch.tensor([[0.75, 0.25]] * 4)  # confident 75% and right 3 times out of 4
    assert expected_calibration_error(probs, torch.tensor([0, 0, 0, 1])) == pytest.approx(0.0)


def test_ece_is_the_weighted_gap_between_confidence_and_accuracy():
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    y = torch.tensor([0, 1, 0, 0])  # the 0.9 bin: 50% right; the 0.6 bin: 100% right
    assert expected_calibration_error(probs, y, bins=10) == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)
