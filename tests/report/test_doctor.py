"""The doctor's tables and figures from a diagnosis as plain data (report/doctor.py)."""

from __future__ import annotations

from deepfit.report.doctor import doctor_figures, findings_html, findings_rows, repair_html, repair_rows

FINDING = {"name": "vanishing_gradients", "severity": "high", "summary": "the input side learns 1000x slower",
           "remedies": [["model.activation=relu", "model.init=he_normal"], ["model.norm=before"]],
           "docs": "docs/doctor.md#vanishing"}


def test_each_finding_is_a_ranked_row_with_every_remedy_as_shell_flags():
    rows = findings_rows({"findings": [FINDING, {**FINDING, "name": "dead_relu", "remedies": []}]})
    assert [r["rank"] for r in rows] == [1, 2] and rows[1]["finding"] == "dead_relu"
    assert rows[0]["remedies"] == ("--set model.activation=relu --set model.init=he_normal or "
                                   "--set model.norm=before")
    assert (rows[0]["severity"], rows[0]["read"]) == ("high", "docs/doctor.md#vanishing")


def test_a_healthy_run_says_so_instead_of_an_empty_table():
    assert "No finding" in findings_html({"findings": []})
    assert "vanishing_gradients" in findings_html({"findings": [FINDING]})


ATTEMPT = {"round": 1, "finding": "vanishing_gradients", "remedy": ["model.norm=before"], "implied": [],
           "before_accuracy": [0.5, 0.52], "after_accuracy": [0.81, None], "before_loss": [1.2, 1.1],
           "after_loss": [], "kept": True, "reason": "accuracy rose by 0.3"}


def test_each_repair_attempt_is_a_row_with_figures_per_seed_and_its_verdict():
    (row,) = repair_rows({"attempts": [ATTEMPT]})
    assert (row["remedy"], row["implied"], row["verdict"]) == ("--set model.norm=before", "", "kept")
    assert (row["accuracy before"], row["accuracy after"]) == ("0.500, 0.520", "0.810, n/a")
    assert row["loss after"] == "not trained"
    assert repair_rows({"attempts": [{**ATTEMPT, "kept": False}]})[0]["verdict"] == "rejected"


def test_the_repair_page_says_how_it_ended_the_accuracy_at_both_ends_and_what_was_kept():
    repair = {"seeds": [1, 2], "outcome": "fixed_all", "reason": "no finding <left>", "initial_accuracy": [0.5],
              "final_accuracy": [0.8], "attempts": [ATTEMPT], "kept": [["model.norm=before"]]}
    page = repair_html(repair)
    assert page.startswith("<p>fixed all: no finding &lt;left&gt;. Validation accuracy per seed (1, 2): 0.500 &rarr; "
                           "0.800.</p>")
    assert "Kept: <code>--set model.norm=before</code>" in page
    assert "No remedy kept" in repair_html({**repair, "kept": [], "attempts": []})
    assert "No remedy tried" in repair_html({**repair, "attempts": []})


def test_figures_skip_curves_without_a_finite_value_and_draw_the_gradient_by_depth(tmp_path):
    probes = [{"step": s, "layers": [{"grad_norm": g, "act_std": None, "update_ratio": None} for g in (1e-3, 1e-1)]}
              for s in (0, 100)]
    diagnosis = {"record": {"probes": probes, "layers": ["hidden1", "output"]}}
    images = doctor_figures(diagnosis, tmp_path, prefix="fixed")
    assert sorted(p.name for p in images.values()) == ["fixed_doctor_grad_by_depth.png", "fixed_doctor_grad_norm.png"]
    assert all(caption.startswith("fixed: ") and path.stat().st_size > 0 for caption, path in images.items())
    assert doctor_figures({"record": {"probes": [], "layers": []}}, tmp_path) == {}


def test_an_update_ratio_of_zero_at_every_probe_draws_no_curve(tmp_path):
    """A ratio of 0 (no step yet, a frozen layer) has no place on the log axis: a layer with nothing else gets
    no line, and with no layer left there is no update-ratio figure (not an empty plot)."""
    probes = [{"step": s, "layers": [{"grad_norm": 0.1, "update_ratio": 0.0}]} for s in (0, 100)]
    images = doctor_figures({"record": {"probes": probes, "layers": ["hidden1"]}}, tmp_path)
    assert sorted(p.name for p in images.values()) == ["doctor_grad_by_depth.png", "doctor_grad_norm.png"]
