"""Model summaries count what torch counts: the reference net, a frozen layer, the output shapes."""

import pytest
from rich.console import Console

from deepfit.nn import ModelSpec, build_model
from deepfit.report.summary import summarize, summary_table
from deepfit.transfer import freeze


def _reference(**options):
    """Géron's reference network: 784 -> 300 -> 100 -> 10."""
    return build_model(ModelSpec((28, 28), 10, hidden=[300, 100], **options))


def test_reference_net_counts_equal_torchs_parameter_count():
    model = _reference()
    summary = summarize(model, (28, 28))
    assert summary.total == sum(p.numel() for p in model.parameters()) == 784 * 300 + 300 + 300 * 100 + 100 + 1010
    assert summary.trainable == summary.total and summary.frozen == 0
    assert sum(row.params for row in summary.rows if row.leaf) == summary.total


def test_frozen_layer_counts_as_frozen():
    model = _reference(norm="before")
    freeze(model, "hidden1")
    summary = summarize(model, (28, 28))
    frozen = sum(p.numel() for p in model.hidden1.parameters())
    assert frozen == 784 * 300 + 2 * 300  # no bias before batch norm; gamma and beta
    assert summary.frozen == frozen
    assert summary.trainable == sum(p.numel() for p in model.parameters() if p.requires_grad)
    rows = {row.name: row for row in summary.rows}
    assert rows["hidden1"].trainable == 0 and rows["hidden2.linear"].trainable == rows["hidden2.linear"].params


def test_rows_carry_output_shapes_and_dotted_names():
    rows = {row.name: row for row in summarize(_reference(), (28, 28)).rows}
    assert rows["flatten"].output_shape == (1, 784)
    assert rows["hidden1.linear"].output_shape == (1, 300) and rows["hidden1.linear"].kind == "Linear"
    assert rows["output"].output_shape == (1, 10)
    assert not rows["hidden1"].leaf and rows["hidden1.linear"].leaf


def test_summary_leaves_the_training_mode_as_it_was():
    model = _reference(norm="before").train()
    before = model.hidden1.norm.running_mean.clone()
    summarize(model, (28, 28))
    assert model.training and model.hidden1.norm.running_mean.equal(before)


@pytest.mark.parametrize("width", [100, 200])
def test_table_shows_each_layer_and_the_totals(width):
    console = Console(record=True, width=width)
    console.print(summary_table(summarize(_reference(), (28, 28)), title="reference"))
    text = console.export_text()
    assert "hidden2.linear" in text and "(batch, 100)" in text
    assert "266,610" in text and "235,500" in text  # the total and hidden1's linear layer


def test_a_summary_leaves_the_global_random_generator_where_it_was():
    import torch

    model = build_model(ModelSpec((12,), 3, hidden=[8], dropout=0.5))
    torch.manual_seed(0)
    before = torch.get_rng_state()
    summarize(model, (12,))  # torchinfo draws its input with torch.rand: a resumed run's dropout must not shift
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize("width", [80, 120])
def test_summary_fits_the_width_with_every_layer_name_whole(width):
    import io

    from deepfit.report.summary import print_summary

    out = io.StringIO()
    model = build_model(ModelSpec((28, 28), 10, hidden=[512, 256, 128], activation="selu", dropout=0.1))
    print_summary(Console(file=out, width=width, color_system=None), summarize(model, (28, 28)), title="selu")
    lines = out.getvalue().splitlines()
    assert max(map(len, lines)) <= width
    for name in ("hidden1.linear", "hidden3.activation", "hidden3.dropout"):
        assert any(name in line.split("│")[0] or f" {name} " in line for line in lines)
    assert "567,434" in out.getvalue()


def test_frozen_layers_keep_their_trainable_and_frozen_columns_when_narrow():
    model = _reference(norm="before")
    freeze(model, "hidden1")
    console = Console(record=True, width=80, color_system=None)
    console.print(summary_table(summarize(model, (28, 28)), width=80))
    header = next(line for line in console.export_text().splitlines() if "layer" in line)
    assert header.replace("┃", " ").split()[-2:] == ["trainable", "frozen"]
