"""Where a run came from: the command that started it, when, and each `--resume` that continued it.

The record travels in the checkpoint (the `Checkpoint` callback's meta), so a run killed before it wrote
metrics.json still knows its first command when resumed; metrics.json and the report's header show it all.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from deepfit.run.rundir import command_line

_TIME_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


def now() -> str:
    """The local time as the run's records write it: `2026-12-08 01:50:02 UTC`."""
    return time.strftime(_TIME_FORMAT)


def provenance(state: dict[str, Any] | None = None, run_dir: Path | None = None) -> dict[str, Any]:
    """`command` and `started` of this run, and its `resumes` (each: `command`, `time`, `from_epoch`,
    `previous`: `interrupted` or `finished`), for metrics.json and the checkpoint's meta.

    A new run (`state` None) starts now with the command running. A resume (`state`: the checkpoint of
    `run_dir`) keeps the original command and start and appends itself; the previous process was interrupted
    unless `run_dir`'s metrics.json records as many epochs as the checkpoint (it finished, and is extended).
    """
    if state is None:
        return {"command": command_line(), "started": now()}
    meta = state.get("callbacks", {}).get("Checkpoint", {}).get("meta", {})
    earlier = meta.get("provenance") if isinstance(meta.get("provenance"), dict) else _from_metrics(run_dir)
    epoch = state.get("epoch")
    finished = run_dir is not None and _metrics(run_dir).get("epochs") == epoch
    resume = {"command": command_line(), "time": now(), "from_epoch": epoch,
              "previous": "finished" if finished else "interrupted"}
    return {"command": earlier.get("command", "unknown"), "started": earlier.get("started", "unknown"),
            "resumes": [*earlier.get("resumes", []), resume]}


def _from_metrics(run_dir: Path | None) -> dict[str, Any]:
    """The provenance a run written before checkpoints carried it left in its metrics.json, if any."""
    metrics = _metrics(run_dir) if run_dir is not None else {}
    return {key: metrics[key] for key in ("command", "started", "resumes") if key in metrics}


def _metrics(run_dir: Path) -> dict[str, Any]:
    try:
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return metrics if isinstance(metrics, dict) else {}
