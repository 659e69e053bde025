"""The overhead of `train --diagnose`: the reference net's epochs with and without the doctor, in one process.

Two figures, because epochs on a shared machine vary more than the doctor costs: the difference of the
median seconds per epoch of alternating runs with and without the doctor, and the seconds spent inside the
doctor's callbacks (its probe, its per-epoch reading of the rules) per epoch, both in % of a plain epoch.

    python benchmarks/doctor_overhead.py              # 10,000 images, 2 epochs, 3 pairs after a warm-up
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from deepfit.config import load_config
from deepfit.diagnose import DoctorProbe, LiveDoctor, run_diagnosed
from deepfit.presets import PRESETS
from deepfit.run import load_splits, run_training


class _Clock:
    """Seconds spent inside the doctor's callbacks (its probe and its per-epoch reading), by wrapping them
    for the duration of a `with` block: the cost of `--diagnose` without the noise of whole epochs."""

    def __init__(self) -> None:
        self.seconds, self.saved = 0.0, {}

    def __enter__(self) -> _Clock:
        for cls, name in ((DoctorProbe, "on_probe"), (LiveDoctor, "on_epoch_end")):
            self.saved[cls, name] = original = getattr(cls, name)
            setattr(cls, name, self._timed(original))
        return self

    def _timed(self, fn: Any) -> Any:
        def wrapper(*args: Any) -> None:
            t0 = time.perf_counter()
            fn(*args)
            self.seconds += time.perf_counter() - t0
        return wrapper

    def __exit__(self, *exc: object) -> None:
        for (cls, name), fn in self.saved.items():
            setattr(cls, name, fn)


def overhead(quick: bool, repeats: int = 3) -> dict[str, float]:
    """`train --diagnose` against the same run without the doctor, in the same process: the median
    seconds per epoch of each over `repeats` alternating runs (after one warm-up of each), and the seconds
    spent inside the doctor's callbacks per epoch (epochs on a shared machine vary more than the doctor costs)."""
    epochs = 2
    cfg = load_config(None, ["data.subset=2000" if quick else "data.subset=10000", "data.valid=1000",
                             f"train.epochs={epochs}", "train.early_stopping=false", "train.device=cpu",
                             "train.engine=eager", "train.threads=1"], base=PRESETS.build("reference"))
    splits = load_splits(cfg)
    plain, doctor, inside = [], [], []
    for i in range(repeats + 1):
        a = run_training(cfg, save=False, quiet=True, splits=splits).metrics["seconds_per_epoch"]
        with _Clock() as clock:
            b = run_diagnosed(cfg, save=False, quiet=True, splits=splits)[0].metrics["seconds_per_epoch"]
        if i:  # the first pair warms up
            plain.append(a)
            doctor.append(b)
            inside.append(clock.seconds / epochs)
    p, d, c = statistics.median(plain), statistics.median(doctor), statistics.median(inside)
    return {"plain_s_per_epoch": p, "diagnose_s_per_epoch": d, "overhead_pct": 100 * (d - p) / p,
            "doctor_callbacks_s_per_epoch": c, "doctor_callbacks_pct": 100 * c / p,
            "train_samples": len(splits.train), "probe_every": cfg.train.probe_every}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 images")
    parser.add_argument("--repeats", type=int, default=3, help="pairs of runs after the warm-up pair")
    args = parser.parse_args()
    print(json.dumps(overhead(args.quick, args.repeats), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
