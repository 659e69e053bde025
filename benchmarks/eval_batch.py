"""Milliseconds per 1,000 samples of an evaluation-mode forward pass at several batch sizes, per network.

The networks are configs/cnn.py's small CNN (421,738 parameters) and the reference dense net (784-300-100-10),
on 10,000 random 28x28 inputs; batch sizes are timed round-robin, `--rounds` times each, and the table gives
the median. The last column is the batch `train.eval_batch_size = "auto"` picks (train/eval_batch.py).

    python benchmarks/eval_batch.py                          # torch's default threads
    python benchmarks/eval_batch.py --threads 1 --rounds 3
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from pathlib import Path

import torch

from deepfit.nn import ModelSpec, build_model
from deepfit.train.eval_batch import auto_eval_batch_size

BATCHES = (64, 128, 256, 512, 1024, 4096)
ROOT = Path(__file__).resolve().parents[1]


def _cnn() -> torch.nn.Module:
    spec = importlib.util.spec_from_file_location("cnn", ROOT / "configs" / "cnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build((28, 28), 10)


NETWORKS = {"cnn (configs/cnn.py)": _cnn, "reference dense": lambda: build_model(ModelSpec((28, 28), 10))}


@torch.no_grad()
def ms_per_1000(model: torch.nn.Module, x: torch.Tensor, batch: int) -> float:
    t0 = time.perf_counter()
    for s in range(0, len(x), batch):
        model(x[s : s + batch])
    return (time.perf_counter() - t0) * 1000 / len(x) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=10_000, help="samples per timing")
    p.add_argument("--rounds", type=int, default=3, help="timings per batch size (median)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.n, 28, 28)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}, "
          f"{args.n} samples, median of {args.rounds}")
    print(f"{'network':<22}" + "".join(f"{b:>8}" for b in BATCHES) + f"{'auto':>8}")
    for name, make in NETWORKS.items():
        model = make().eval()
        model(x[:64])  # warm-up
        times: dict[int, list[float]] = {b: [] for b in BATCHES}
        for _ in range(args.rounds):
            for b in BATCHES:
                times[b].append(ms_per_1000(model, x, b))
        auto = auto_eval_batch_size(model, x[:2], torch.device("cpu"))
        print(f"{name:<22}" + "".join(f"{statistics.median(times[b]):>8.1f}" for b in BATCHES) + f"{auto:>8}")
    print("(ms per 1,000 samples)")


if __name__ == "__main__":
    main()
