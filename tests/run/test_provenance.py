import json
import sys

from deepfit.run.provenance import provenance


def _state(epoch: int, meta: dict | None = None) -> dict:
    return {"epoch": epoch, "callbacks": {"Checkpoint": {"meta": meta or {}}}}


def test_a_new_run_records_its_command_and_start(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["deepfit", "train", "--data", "a b.csv"])
    record = provenance()
    assert record["command"] == "deepfit train --data 'a b.csv'" and "resumes" not in record
    assert record["started"][:2] == "20"


def test_each_resume_keeps_the_first_command_and_appends_itself(tmp_path, monkeypatch):
    first = {"command": "deepfit train --epochs 9", "started": "2026-12-08 01:00:00 UTC"}
    monkeypatch.setattr(sys, "argv", ["deepfit", "train", "--resume", "r"])
    once = provenance(_state(3, {"provenance": first}), tmp_path)
    assert (once["command"], once["started"]) == (first["command"], first["started"])
    assert [(r["from_epoch"], r["previous"], r["command"]) for r in once["resumes"]] == [
        (3, "interrupted", "deepfit train --resume r")]
    (tmp_path / "metrics.json").write_text(json.dumps({"epochs": 9}))  # the resumed process finished
    twice = provenance(_state(9, {"provenance": once}), tmp_path)
    assert [(r["from_epoch"], r["previous"]) for r in twice["resumes"]] == [(3, "interrupted"), (9, "finished")]


def test_a_checkpoint_written_without_provenance_takes_it_from_metrics_json(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"epochs": 5, "command": "deepfit train", "started": "then"}))
    record = provenance(_state(2), tmp_path)
    assert (record["command"], record["started"], record["resumes"][0]["previous"]) == (
        "deepfit train", "then", "interrupted")
