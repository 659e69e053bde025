import math

import pytest

from deepfit.studies.stats import paired_difference, summarize, t_critical


@pytest.mark.parametrize(("df", "value"), [(1, 12.706), (4, 2.776), (9, 2.262), (30, 2.042), (60, 2.000),
                                           (120, 1.980), (1000, 1.962)])
def test_t_critical_matches_the_t_table(df, value):
    assert t_critical(df) == pytest.approx(value, abs=1.5e-3)


def test_summarize_gives_mean_sample_std_and_ci():
    s = summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert s["mean"] == 3.0
    assert s["std"] == pytest.approx(math.sqrt(2.5))
    assert s["ci95"] == pytest.approx(2.776 * math.sqrt(2.5) / math.sqrt(5))


def test_single_value_has_no_spread():
    s = summarize([0.9])
    assert s["mean"] == 0.9 and math.isnan(s["std"]) and math.isnan(s["ci95"])


def test_paired_difference_detects_a_consistent_gain():
    a = [0.90, 0.91, 0.89, 0.92, 0.90]
    b = [x + 0.02 + 0.001 * i for i, x in enumerate(a)]
    d = paired_difference(a, b)
    assert d["mean"] == pytest.approx(0.022)
    assert d["significant"] is True
    noisy = paired_difference([0.9, 0.8, 0.95], [0.85, 0.9, 0.9])
    assert noisy["significant"] is False


def test_equal_values_have_zero_spread():
    s = summarize([2.5, 2.5, 2.5])  # runs trained in one group share their epoch time
    assert s["std"] == 0.0 and s["ci95"] == 0.0 and s["mean"] == 2.5
