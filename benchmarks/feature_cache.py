"""Seconds per frozen-stage epoch with and without frozen-feature caching (Géron's B-on-A model).

A 784-300-100-50-50-50 SELU network with its five hidden layers frozen trains a new head. Uncached, every
step runs the frozen layers forward; cached, their outputs are computed once (the time to do so is in
the table) and each step runs only the head. Both paths give the same weights (tests/transfer/
test_feature_cache.py); this measures the speed-up.

    python benchmarks/feature_cache.py                       # CPU, synthetic 20,000 x 784 inputs
    python benchmarks/feature_cache.py --n 55000 --device cuda
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from deepfit.data import TensorData
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Trainer, UpdateRule, objective_for
from deepfit.transfer import cache_features, freeze, split_frozen


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _epoch_times(cached: bool, data: TensorData, args: argparse.Namespace, device: torch.device) -> tuple[float, float]:
    """(seconds to build the cache, median seconds per epoch after the first)."""
    torch.manual_seed(0)
    spec = ModelSpec(
        input_shape=(784,), num_outputs=1, hidden=[300, 100, 50, 50, 50], activation="selu", init="lecun_normal"
    )
    model = build_model(spec).to(device)
    freeze(model, ["hidden1", "hidden2", "hidden3", "hidden4", "hidden5"])
    setup = 0.0
    net = model
    if cached:
        t0 = time.perf_counter()
        lower, net = split_frozen(model)
        data = TensorData(cache_features(lower, data.x), data.y)
        _sync(device)
        setup = time.perf_counter() - t0
    rule = UpdateRule("sgd", {"lr": 1e-3})
    trainer = Trainer(net, objective_for("auto", "binary"), rule, batch_size=args.batch_size, device=device)
    times = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        trainer.fit(data, epochs=epoch, verbose=0)
        _sync(device)
        times.append(time.perf_counter() - t0)
    return setup, statistics.median(times[1:] if len(times) > 1 else times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20000, help="training samples")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    g = torch.Generator().manual_seed(0)
    data = TensorData(torch.randn(args.n, 784, generator=g), (torch.rand(args.n, generator=g) > 0.5).float())
    data = data.to(device)
    plain_setup, plain = _epoch_times(False, data, args, device)
    cache_setup, cached = _epoch_times(True, data, args, device)
    print(
        f"frozen-stage epoch, {args.n} samples, batch {args.batch_size}, {device}, torch threads "
        f"{torch.get_num_threads()}"
    )
    print("| path     | cache build (s) | s/epoch (median) |")
    print("|----------|-----------------|------------------|")
    print(f"| uncached | {plain_setup:15.3f} | {plain:16.3f} |")
    print(f"| cached   | {cache_setup:15.3f} | {cached:16.3f} |")
    print(f"speed-up per epoch: {plain / cached:.2f}x")


if __name__ == "__main__":
    main()
