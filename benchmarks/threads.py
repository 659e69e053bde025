"""Seconds per epoch of a small run with 1 and 2 torch threads, on idle cores and on cores held by busy processes.

The run is the reference network (784-300-100-10, ReLU, He, Nadam) on random 28x28 inputs, eager engine,
batch 32. "held" starts one busy-looping process per CPU core before timing and stops them after, so the
cores are as busy as they are when other jobs share the machine. Epochs of the two thread counts alternate;
the table gives the median of all but the first (warm-up) epoch, and the 1-minute load average at the start
of each block (which includes any load already on the machine).

    python benchmarks/threads.py                 # 6,000 samples, 4 epochs per setting
    python benchmarks/threads.py --n 2000 --epochs 3
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time

import torch

from deepfit.data import TensorData
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Trainer, UpdateRule, objective_for

THREADS = (1, 2)


def _spin() -> None:
    while True:
        pass


def _trainer(n: int) -> tuple[Trainer, TensorData]:
    torch.manual_seed(0)
    model = build_model(ModelSpec(input_shape=(28, 28), num_outputs=10))
    trainer = Trainer(model, objective_for("auto", "multiclass"), UpdateRule("nadam", {"lr": 1e-3}),
                      batch_size=32, device=torch.device("cpu"), seed=0, engine="eager")
    data = TensorData(torch.randn(n, 28, 28), torch.randint(0, 10, (n,)))
    return trainer, data


def measure(n: int, epochs: int) -> dict[int, float]:
    """Median seconds per epoch for each thread count; thread counts alternate epoch by epoch."""
    runs = {k: _trainer(n) for k in THREADS}
    times: dict[int, list[float]] = {k: [] for k in THREADS}
    for _ in range(epochs):
        for k, (trainer, data) in runs.items():
            torch.set_num_threads(k)
            t0 = time.perf_counter()
            trainer.fit(data, None, epochs=trainer.epoch + 1, verbose=0)
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(t[1:]) for k, t in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=6000, help="training samples")
    p.add_argument("--epochs", type=int, default=4, help="epochs per setting; the first is a warm-up")
    args = p.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"torch {torch.__version__}, {cores} CPU cores, torch's default {torch.get_num_threads()} threads, "
          f"{args.n} samples, batch 32")
    print(f"{'cores':<8}{'load avg':>9}" + "".join(f"{f'{k} thread(s)':>13}" for k in THREADS) + f"{'2 vs 1':>9}")
    for held in (False, True):
        spinners = [mp.Process(target=_spin, daemon=True) for _ in range(cores if held else 0)]
        for s in spinners:
            s.start()
        try:
            load = os.getloadavg()[0]
            s_per_epoch = measure(args.n, args.epochs)
        finally:
            for s in spinners:
                s.terminate()
                s.join()
        row = "".join(f"{s_per_epoch[k]:>12.2f}s" for k in THREADS)
        print(f"{'held' if held else 'idle':<8}{load:>9.2f}{row}{s_per_epoch[2] / s_per_epoch[1]:>8.1f}x")


if __name__ == "__main__":
    main()
