"""The checkpoint callback (train/callbacks/checkpoint.py): when it writes, and what it writes beside."""

from __future__ import annotations

import types

import pytest

from deepfit.train.callbacks import checkpoint as module
from deepfit.train.callbacks.checkpoint import Checkpoint
from deepfit.train.history import History


@pytest.fixture
def saves(monkeypatch) -> list[tuple[dict, object]]:
    calls: list[tuple[dict, object]] = []
    monkeypatch.setattr(module, "save_checkpoint", lambda state, path: calls.append((state, path)))
    return calls


def _epochs(cb: Checkpoint, epochs: int, stop_after: int | None = None) -> list[int]:
    trainer = types.SimpleNamespace(epochs=epochs, stop_training=False, history=History())
    trainer.state_dict = lambda: {"epoch": trainer.epoch}
    for epoch in range(1, epochs + 1):
        trainer.epoch = epoch
        trainer.history.append({"epoch": epoch, "loss": 1.0 / epoch})
        trainer.stop_training = epoch == stop_after
        cb.on_epoch_end(trainer, {})
        if trainer.stop_training:
            break
    return trainer


def test_it_writes_every_n_epochs_and_after_the_last(saves, tmp_path):
    _epochs(Checkpoint(tmp_path, every_epochs=3), 7)
    assert [s["epoch"] for s, _ in saves] == [3, 6, 7]
    assert all(path == tmp_path for _, path in saves)


def test_it_writes_when_the_fit_stops_early(saves, tmp_path):
    _epochs(Checkpoint(tmp_path, every_epochs=10), 20, stop_after=4)
    assert [s["epoch"] for s, _ in saves] == [4]


def test_the_history_so_far_is_written_with_each_checkpoint(saves, tmp_path):
    csv = tmp_path / "history.csv"
    _epochs(Checkpoint(tmp_path, every_epochs=2, history_csv=csv), 3)
    assert csv.read_text().splitlines() == ["epoch,loss", "1,1.0", "2,0.5", "3,0.3333333333333333"]


def test_its_state_is_the_meta_it_was_given_and_it_runs_after_the_other_callbacks(tmp_path):
    cb = Checkpoint(tmp_path, meta={"config": {"train": {"epochs": 3}}})
    assert cb.state_dict() == {"meta": {"config": {"train": {"epochs": 3}}}}
    assert Checkpoint.order > 0 and Checkpoint(tmp_path).state_dict() == {"meta": {}}
