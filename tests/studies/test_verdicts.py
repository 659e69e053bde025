import math

import pytest

from deepfit.studies.verdicts import (
    INCONCLUSIVE,
    REFUTED,
    SUPPORTED,
    better,
    improves,
    judge,
    judge_all,
    ordering,
    similar,
    verdicts_markdown,
    within,
)


def _runs(values: dict[str, list[float]], metric: str = "val_acc", epochs: int = 5) -> list[dict]:
    return [{"variant": v, "seed": s, metric: x, "epochs": epochs}
            for v, xs in values.items() for s, x in enumerate(xs)]


BASE = [0.80, 0.82, 0.79, 0.81, 0.83]


def test_better_follows_the_paired_t_interval():
    # differences 0.01, 0.02, 0.03: mean 0.02, sd 0.01, half-width t(0.975, 2) * 0.01 / sqrt(3) = 0.02484
    runs = _runs({"a": [0.81, 0.84, 0.82], "b": [0.80, 0.82, 0.79]})
    v = judge(better("a beats b", "a", "b"), runs)
    assert v.estimate == pytest.approx(0.02)
    assert v.low == pytest.approx(0.02 - 4.303 * 0.01 / math.sqrt(3), abs=1e-6)
    assert v.verdict == INCONCLUSIVE and v.seeds == 3
    runs = _runs({"a": [x + 0.02 + 0.001 * i for i, x in enumerate(BASE)], "b": BASE})
    assert judge(better("a beats b", "a", "b"), runs).verdict == SUPPORTED
    assert judge(better("b beats a", "b", "a"), runs).verdict == REFUTED


def test_smaller_is_better_for_epochs_and_losses_and_unreached_targets_count_as_epochs_plus_one():
    runs = _runs({"fast": [2, 3, 2, 3, 2], "slow": [5, 6, 5, 7, 6]}, metric="epochs_to_target")
    v = judge(better("fast reaches the target sooner", "fast", "slow", metric="epochs_to_target"), runs)
    assert v.verdict == SUPPORTED and v.estimate == pytest.approx(3.4)  # turned: > 0 means the claim's way
    runs = _runs({"fast": [2, 3, 2, 3, 2], "never": [math.nan] * 5}, metric="epochs_to_target", epochs=5)
    v = judge(better("fast beats never", "fast", "never", metric="epochs_to_target"), runs)
    assert v.verdict == SUPPORTED and v.estimate == pytest.approx(6 - 2.4)
    assert "5 run(s) never reached the target" in v.note
    runs = _runs({"a": [0.30, 0.31, 0.29], "b": [0.50, 0.52, 0.49]}, metric="val_loss")
    assert judge(better("a has the lower loss", "a", "b", metric="val_loss"), runs).verdict == SUPPORTED


def test_similar_needs_the_whole_interval_inside_the_margin():
    close = _runs({"a": [x + 0.001 * (-1) ** i for i, x in enumerate(BASE)], "b": BASE})
    assert judge(similar("a and b alike", "a", "b", margin=0.01), close).verdict == SUPPORTED
    far = _runs({"a": [x + 0.05 + 0.001 * i for i, x in enumerate(BASE)], "b": BASE})
    assert judge(similar("a and b alike", "a", "b", margin=0.01), far).verdict == REFUTED
    noisy = _runs({"a": [0.80, 0.86, 0.76, 0.84, 0.79], "b": BASE})
    assert judge(similar("a and b alike", "a", "b", margin=0.01), noisy).verdict == INCONCLUSIVE


def test_within_compares_the_mean_interval_with_the_range():
    runs = _runs({"ref": [0.885, 0.887, 0.884, 0.886, 0.888]})
    assert judge(within("about 88-89%", "ref", 0.875, 0.895), runs).verdict == SUPPORTED
    assert judge(within("about 90-91%", "ref", 0.90, 0.91), runs).verdict == REFUTED
    wide = _runs({"ref": [0.86, 0.90, 0.87, 0.89, 0.88]})
    assert judge(within("about 88-89%", "ref", 0.875, 0.895), wide).verdict == INCONCLUSIVE


def test_ordering_reports_every_pair_and_where_it_is_resolved():
    runs = _runs({"a": [x + 0.04 + 0.001 * i for i, x in enumerate(BASE)],
                  "b": [x + 0.02 - 0.001 * i for i, x in enumerate(BASE)], "c": BASE})
    v = judge(ordering("a > b > c", ["a", "b", "c"]), runs)
    assert v.verdict == SUPPORTED and len(v.pairs) == 3
    assert [p["state"] for p in v.pairs] == ["resolved"] * 3
    assert "2 of 2 adjacent pairs resolved" in v.note
    v = judge(ordering("c > a > b", ["c", "a", "b"]), runs)
    assert v.verdict == REFUTED and "significantly reversed: a > c" in v.note
    tied = _runs({"a": [0.80, 0.86, 0.76, 0.84, 0.79], "b": BASE})
    assert judge(ordering("a > b", ["a", "b"]), tied).verdict == INCONCLUSIVE


def test_one_seed_has_no_interval_and_is_inconclusive():
    runs = _runs({"a": [0.9], "b": [0.1]})
    assert judge(better("a beats b", "a", "b"), runs).verdict == INCONCLUSIVE


def test_claims_about_absent_variants_are_skipped_and_bad_claims_refused():
    runs = _runs({"a": BASE, "b": BASE})
    claims = [better("a beats b", "a", "b"), better("a beats z", "a", "z")]
    assert [v.claim.text for v in judge_all(claims, runs)] == ["a beats b"]
    with pytest.raises(ValueError, match="no metric 'test_acc'"):
        judge(better("a beats b", "a", "b", metric="test_acc"), runs)
    with pytest.raises(ValueError, match="compares 2 variant"):
        better("a beats itself", "a", "b").__class__("x", "better", ("a",))


def test_the_markdown_names_each_verdict_the_chapter_and_the_pairs():
    runs = _runs({"a": [x + 0.04 + 0.001 * i for i, x in enumerate(BASE)], "b": BASE})
    text = verdicts_markdown(judge_all([better("a beats b", "a", "b", chapter="0.80 vs 0.71"),
                                        ordering("a > b", ["a", "b"])], runs))
    assert "| a beats b | val_acc |" in text and "0.80 vs 0.71" in text and "**supported**" in text
    assert "### pairs of the ordering: a > b" in text and "| a > b | yes |" in text
    assert verdicts_markdown([]) == ""


def test_improves_pairs_two_metrics_of_one_variant_by_seed():
    runs = [{"variant": "drop", "seed": s, "test_nll": 0.40 + 0.01 * s, "mc_test_nll": 0.37 + 0.01 * s + 0.001 * s * s}
            for s in range(5)]
    v = judge(improves("MC Dropout lowers the NLL", "drop", "mc_test_nll", over="test_nll"), runs)
    assert v.verdict == SUPPORTED and v.estimate == pytest.approx(0.03 - 0.006)
    assert judge_all([improves("x", "other", "mc_test_nll", over="test_nll")], runs) == []
