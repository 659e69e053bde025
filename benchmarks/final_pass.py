"""The end of a run: an evaluation pass's speed by batch size, and the former end-of-run passes against the
one final pass per split.

`--tables batch`: milliseconds per 1,000 samples of an evaluation-mode forward pass at several batch sizes,
for configs/cnn.py's small CNN (421,738 parameters) and the reference dense net (784-300-100-10), on
`--n` random 28x28 inputs; batch sizes are timed round-robin, `--rounds` times each (median). The last
column is the batch `train.eval_batch_size = "auto"` picks (train/eval_batch.py).

`--tables final`: seconds of the end-of-run figures. "separate" is what run/training.py did before
run/predictions.py: `evaluate` on train, valid and test, then `predict` on test twice (confusion matrix,
misclassified grid), each at batch 4096. "final pass" is `FinalPass`: one pass per split at the "auto"
batch, from which the scores, confusion matrix and predicted classes are derived. The network is the CNN
(untrained: the time does not depend on the weights) on random inputs, with the split sizes of `deepfit
train --config configs/cnn.toml --subset 2000` (2,000 / 5,000 / 10,000); the two ways alternate, `--rounds`
times (median).

    python benchmarks/final_pass.py                                  # both tables, torch's default threads
    python benchmarks/final_pass.py --tables final --threads 1 --rounds 2
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from pathlib import Path

import torch

from deepfit.data import Splits, TensorData
from deepfit.nn import ModelSpec, build_model
from deepfit.run.predictions import FinalPass
from deepfit.train import Trainer, objective_for
from deepfit.train.eval_batch import auto_eval_batch_size

BATCHES = (64, 128, 256, 512, 1024, 4096)

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"train": 2000, "valid": 5000, "test": 10_000}


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


def batch_table(n: int, rounds: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(n, 28, 28)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}, "
          f"{n} samples, median of {rounds}")
    print(f"{'network':<22}" + "".join(f"{b:>8}" for b in BATCHES) + f"{'auto':>8}")
    for name, make in NETWORKS.items():
        model = make().eval()
        model(x[:64])  # warm-up
        times: dict[int, list[float]] = {b: [] for b in BATCHES}
        for _ in range(rounds):
            for b in BATCHES:
                times[b].append(ms_per_1000(model, x, b))
        auto = auto_eval_batch_size(model, x[:2], torch.device("cpu"))
        print(f"{name:<22}" + "".join(f"{statistics.median(times[b]):>8.1f}" for b in BATCHES) + f"{auto:>8}")
    print("(ms per 1,000 samples)")


def _splits() -> Splits:
    g = torch.Generator().manual_seed(0)
    parts = {name: TensorData(torch.randn(n, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g))
             for name, n in SIZES.items()}
    return Splits(parts["train"], parts["valid"], parts["test"], [str(i) for i in range(10)], (28, 28), 10)


def separate(trainer: Trainer, splits: Splits) -> float:
    t0 = time.perf_counter()
    for name in SIZES:
        trainer.group.evaluate(getattr(splits, name), 4096)
    for _ in range(2):
        trainer.predict(splits.test.x, 4096).argmax(1)
    return time.perf_counter() - t0


def final_pass(trainer: Trainer, splits: Splits) -> float:
    t0 = time.perf_counter()
    final = FinalPass(trainer, splits)
    for name in SIZES:
        final.scores(name)
    final.confusion("test"), final.classes("test")
    return time.perf_counter() - t0


def final_table(rounds: int) -> None:
    torch.manual_seed(0)
    trainer = Trainer(_cnn(), objective_for("auto", "multiclass"), device="cpu")
    splits = _splits()
    load = os.getloadavg()[0]
    times: dict[str, list[float]] = {"separate (before)": [], "final pass": []}
    for _ in range(rounds):
        times["separate (before)"].append(separate(trainer, splits))
        times["final pass"].append(final_pass(trainer, splits))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {load:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end, eval batch auto = {trainer.eval_batch(splits.test.x)}, "
          f"median of {rounds}")
    print(f"{'end of run':<20}{'samples':>9}{'seconds':>9}")
    passes = {"separate (before)": sum(SIZES.values()) + 2 * SIZES["test"], "final pass": sum(SIZES.values())}
    for name, t in times.items():
        print(f"{name:<20}{passes[name]:>9}{statistics.median(t):>8.2f}s")
    ratio = statistics.median(times["separate (before)"]) / statistics.median(times["final pass"])
    print(f"final pass: {ratio:.1f}x faster")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tables", default="batch,final", help="comma-separated: batch, final")
    p.add_argument("--n", type=int, default=10_000, help="samples per timing of the batch table")
    p.add_argument("--rounds", type=int, default=3, help="timings of each setting (median)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tables = {"batch": lambda: batch_table(args.n, args.rounds), "final": lambda: final_table(args.rounds)}
    for name in args.tables.split(","):
        tables[name.strip()]()


if __name__ == "__main__":
    main()
