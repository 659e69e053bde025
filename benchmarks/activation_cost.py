"""What each activation of the `activations` study costs per training step, against ReLU, in one process.

The study's own `step_ms` times each run's network after its training, one run at a time, so a busy
machine (another study on the other core) spreads it wider than the differences it is meant to show.
Here every activation's network (the study's: 20 hidden layers of 100 units, its initializer from
`init = "auto"`, batch 32) is timed in interleaved rounds: each round times STEPS forward and backward
passes of every network in rotating order, and the table gives the median over rounds of the mean ms per
step, and its ratio to ReLU measured in the same rounds (above 1: dearer than ReLU).

    python benchmarks/activation_cost.py               # 2 threads, 15 rounds of 40 steps
    python benchmarks/activation_cost.py --threads 1 --rounds 9
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch.nn import functional as F

from deepfit.nn import ModelSpec, build_model
from deepfit.studies.spec import STUDIES

STEPS = 40


def _networks() -> dict[str, torch.nn.Module]:
    study = STUDIES.get("activations").constructor()
    base = study.base["model"]
    nets = {}
    for name, overrides in study.variants.items():
        torch.manual_seed(0)
        spec = ModelSpec(input_shape=(28, 28), num_outputs=10, hidden=list(base["hidden"]), init=base["init"],
                         activation=overrides["model"]["activation"])
        nets[name] = build_model(spec).train()
    return nets


def _time(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    start = time.perf_counter()
    for _ in range(STEPS):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
    return (time.perf_counter() - start) / STEPS * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=15, help="timed rounds after one warm-up round")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, y = torch.randn(32, 28, 28), torch.randint(0, 10, (32,))
    nets = _networks()
    names = list(nets)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, load average "
          f"{os.getloadavg()[0]:.2f} at the start")
    times: dict[str, list[float]] = {n: [] for n in names}
    ratios: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds + 1):
        order = names[r % len(names):] + names[: r % len(names)]
        this = {n: _time(nets[n], x, y) for n in order}
        if r:
            for n in names:
                times[n].append(this[n])
                ratios[n].append(this[n] / this["relu"])
    print(f"\n## One training step (forward and backward), 20 x 100 units, batch 32, {args.rounds} rounds\n")
    print("| activation | ms per step | vs ReLU (median of per-round ratios) | range of ratios |")
    print("|---|---:|---:|---:|")
    for n in sorted(names, key=lambda n: statistics.median(ratios[n])):
        print(f"| {n} | {statistics.median(times[n]):.3f} | {statistics.median(ratios[n]):.2f}x | "
              f"{min(ratios[n]):.2f}-{max(ratios[n]):.2f} |")
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
