"""The summary `deepfit train` prints first: once per run, from a copy of the model."""

from rich.console import Console
from tests.conftest import make_blobs

from deepfit.cli.run_summary import SummaryAtStart
from deepfit.data import from_arrays
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Trainer, UpdateRule, objective_for


def test_summary_at_start_prints_once_and_keeps_the_text_without_touching_the_model():
    x, y = make_blobs(200)
    data = from_arrays(x, y, valid=0)
    model = build_model(ModelSpec((12,), 3, hidden=[8]))
    printed = Console(record=True, width=100)
    start = SummaryAtStart(printed, title="blobs")
    trainer = Trainer(model, objective_for("auto", "multiclass"), UpdateRule("sgd", {"lr": 0.1}), engine="eager",
                      callbacks=[start])
    trainer.fit(data.train, epochs=1)
    trainer.fit(data.train, epochs=2)  # a second fit (a staged run's next stage) prints nothing more
    shown = printed.export_text()
    assert shown.count("total params: 131  trainable: 131  frozen: 0") == 1
    assert start.text.splitlines()[0].strip() == "blobs"
    assert "hidden1.linear" in start.text and "(batch, 8)" in start.text and "\x1b" not in start.text
    assert model.training  # the copy was summarised in evaluation mode, not the model
