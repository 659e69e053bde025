"""What Jupyter shows for results: the page deepfit writes for each, inline, its CSS kept to itself."""

import re

from deepfit.report.html import inline_html, render_page
from deepfit.report.notebook import diagnosis_html, run_html


def test_an_inline_page_is_its_body_in_one_div_with_every_css_rule_scoped_to_it():
    page = render_page(title="a study", sections=[("Results", "<table><tr><td>0.88</td></tr></table>")])
    shown = inline_html(page)
    assert shown.startswith('<div class="deepfit-page">') and shown.endswith("</div>")
    assert "<html" not in shown and "<body" not in shown and "<td>0.88</td>" in shown
    css = shown[shown.index("<style>") + 7:shown.index("</style>")]
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{", css) for s in block.split(",")]
    assert selectors and all(s.startswith(".deepfit-page") for s in selectors)
    assert ".deepfit-page {" in css  # the page's `body` rule styles the <div>


def test_a_run_kept_in_memory_shows_its_metrics_curves_history_and_config():
    history = [{"epoch": 1, "loss": 0.9, "val_loss": 1.0, "acc": 0.6, "val_acc": 0.55},
               {"epoch": 2, "loss": 0.7, "val_loss": 0.8, "acc": 0.7, "val_acc": 0.65}]
    metrics = {"epochs": 2, "valid": {"loss": 0.8, "acc": 0.65}, "test": {"loss": 0.82, "acc": 0.6421}}
    shown = run_html(run_dir=None, config_text='name = "tiny"\n', metrics=metrics, history=history)
    assert "Final metrics" in shown and "64.21%" in shown and "data:image/png;base64," in shown
    assert "History (2 epochs)" in shown and 'name = &quot;tiny&quot;' in shown


def test_a_diagnosis_shows_its_findings_and_learning_curves():
    diagnosis = {"findings": [], "context": {"activation": "relu"},
                 "record": {"epochs": [{"epoch": 1, "loss": 1.0, "val_loss": 1.1}], "probes": [], "layers": []}}
    shown = diagnosis_html(diagnosis, config_text="")
    assert "deepfit doctor" in shown and "the doctor saw nothing wrong" in shown and "relu" in shown


def test_a_diagnosis_in_a_notebook_shows_the_doctors_page():
    from deepfit.config import load_config
    from deepfit.diagnose.doctor import Diagnosis

    record = {"epochs": [{"epoch": 1, "loss": 1.0}], "probes": [], "layers": []}
    shown = Diagnosis([], record, {"activation": "selu"}, load_config(None, ["model.hidden=[7]"]))._repr_html_()
    assert "the doctor saw nothing wrong" in shown and "hidden = [\n    7,\n]" in shown  # its config.toml
