import base64
import re

import pytest
from matplotlib.figure import Figure

from deepfit.report.html import write_report

HISTORY = [
    {"epoch": 1, "loss": 0.9, "val_acc": 0.71},
    {"epoch": 2, "loss": 0.5, "val_acc": 0.83, "lr": 1e-3},
]


@pytest.fixture
def images(tmp_path):
    paths = {}
    for caption, colour in (("Learning curves", "tab:blue"), ("Confusion <matrix>", "tab:red")):
        fig = Figure(figsize=(2, 2), dpi=50)
        fig.subplots().plot([0, 1], [0, 1], color=colour)
        path = tmp_path / f"{colour[4:]}.png"
        fig.savefig(path)
        paths[caption] = path
    return paths


def _report(tmp_path, images, **overrides):
    kwargs = dict(
        title="Run <fashion> & co",
        config_text='[model]\nactivation = "selu"  # depth < 20',
        metrics={"test_acc": 0.970512, "epochs": 2, "status": "early <stop>"},
        history=HISTORY,
        images=images,
        notes=["val_loss rose after epoch 2"],
    )
    kwargs.update(overrides)
    out = write_report(tmp_path / "out" / "report.html", **kwargs)
    return out, out.read_text(encoding="utf-8")


def test_report_contains_metrics_history_and_notes(tmp_path, images):
    out, text = _report(tmp_path, images)
    assert out == tmp_path / "out" / "report.html"
    assert ">0.9705</td>" in text  # four significant digits
    assert ">early &lt;stop&gt;</td>" in text
    assert "<title>Run &lt;fashion&gt; &amp; co</title>" in text
    assert "<th>val_<wbr>acc</th>" in text and ">0.83</td>" in text and ">0.001</td>" in text
    assert "<li>val_loss rose after epoch 2</li>" in text
    assert "History (2 epochs)" in text


def test_report_escapes_config_in_pre(tmp_path, images):
    _, text = _report(tmp_path, images)
    assert "<pre>[model]\nactivation = &quot;selu&quot;  # depth &lt; 20</pre>" in text
    assert "depth < 20" not in text


def test_report_embeds_each_image_and_loads_nothing_external(tmp_path, images):
    _, text = _report(tmp_path, images)
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert [base64.b64decode(u) for u in uris] == [p.read_bytes() for p in images.values()]
    assert "<figcaption>Confusion &lt;matrix&gt;</figcaption>" in text
    for external in ('src="http', "<link", "<script", "url("):
        assert external not in text


def test_report_without_history_or_images_still_writes(tmp_path):
    _, text = _report(tmp_path, {}, history=[], notes=None)
    assert "No epochs recorded." in text
    assert "<figure>" not in text and "Notes" not in text


def test_report_rejects_unknown_image_type(tmp_path):
    image = tmp_path / "plot.gif"
    image.write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match=r"expected one of .png, .jpg, .jpeg, .svg, got .gif"):
        _report(tmp_path, {"gif": image})
    assert not (tmp_path / "out" / "report.html").exists()


def test_figures_written_as_text_are_right_aligned_and_keep_their_line_breaks():
    from deepfit.report.html import table_html

    text = table_html([{"variant": "a_b", "acc": "88.53%", "gap": "-2.1 pp", "val_acc": "0.97 ± 0.01\n[±0.02]",
                        "lr": "0.01"}])
    assert '<td class="num">88.53%</td>' in text and '<td class="num">-2.1 pp</td>' in text
    assert '<td class="num">0.97 ± 0.01<br>[±0.02]</td>' in text
    assert "<td>0.01</td>" in text and "<td>a_b</td>" in text  # a setting written as text stays text
    assert "<th>val_<wbr>acc</th>" in text  # a long header may break after its underscores


def test_a_cell_whose_text_has_a_style_gets_its_class():
    from deepfit.report.html import table_html

    text = table_html([{"claim": "a", "verdict": "refuted"}, {"claim": "b", "verdict": "supported"}],
                      styles={"supported": "good", "refuted": "bad"})
    assert '<td class="bad">refuted</td>' in text and '<td class="good">supported</td>' in text
    assert "<td>a</td>" in text
