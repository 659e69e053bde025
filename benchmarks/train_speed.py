"""Seconds per epoch of the reference network (784-300-100-10, ReLU, He, Nadam): deepfit vs plain PyTorch.

Three loops over the same data, model and optimizer, in one process:
  dataloader  a plain PyTorch loop over a shuffled DataLoader(TensorDataset)
  on-device   a plain PyTorch loop slicing an on-device permutation of on-device tensors
  deepfit     deepfit's Trainer (which also accumulates loss and accuracy on the device)
Epochs interleave round-robin; the table gives the median of all but the first (warm-up) round.

    python benchmarks/train_speed.py                   # CPU, batch 32 and 256
    python benchmarks/train_speed.py --device cuda     # on a GPU
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from deepfit.data import TensorData, load_data
from deepfit.nn import ModelSpec, build_model
from deepfit.optim import build_optimizer
from deepfit.train import Trainer, UpdateRule, objective_for


def _model(device: torch.device) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelSpec(input_shape=(28, 28), num_outputs=10)).to(device)


def _timed(fn: Callable[[], None], device: torch.device) -> float:
    t0 = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def dataloader_epoch(x, y, bs, device) -> Callable[[], None]:
    """A plain PyTorch loop over a shuffled DataLoader; returns a function that trains one epoch."""
    model = _model(device)
    opt = torch.optim.NAdam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x.cpu(), y.cpu()), batch_size=bs, shuffle=True)

    def epoch() -> None:
        for xb, yb in loader:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return epoch


def on_device_epoch(x, y, bs, device, optimizer: str = "nadam", **params) -> Callable[[], None]:
    """A plain PyTorch loop slicing an on-device permutation, with a torch.optim optimizer (foreach)."""
    model = _model(device)
    opt = build_optimizer(optimizer, model.parameters(), **(params or {"lr": 1e-3}))

    def epoch() -> None:
        perm = torch.randperm(len(x), device=device)
        for start in range(0, len(x), bs):
            idx = perm[start : start + bs]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return epoch


def deepfit_epoch(x, y, bs, device) -> Callable[[], None]:
    """deepfit's Trainer, one more epoch per call (it also sums loss and accuracy on the device), on the
    backend `auto` picks for a full run (compile on the CPU, a CUDA graph on a GPU)."""
    model = _model(device)
    engine = "graph" if device.type == "cuda" else "compile"
    rule = UpdateRule("nadam", {"lr": 1e-3})
    trainer = Trainer(model, objective_for("auto", "multiclass"), rule, batch_size=bs, device=device, seed=0,
                      engine=engine)
    data = TensorData(x, y)
    return lambda: trainer.fit(data, None, epochs=trainer.epoch + 1, verbose=0)


LOOPS = {"dataloader": dataloader_epoch, "on-device": on_device_epoch, "deepfit": deepfit_epoch}


def measure(x, y, bs: int, epochs: int, device: torch.device) -> dict[str, float]:
    """Median seconds per epoch of each loop; epochs interleave round-robin (order rotating) so drift in
    machine speed hits every loop alike, and the first round is a warm-up."""
    loops = {name: make(x, y, bs, device) for name, make in LOOPS.items()}
    times: dict[str, list[float]] = {name: [] for name in loops}
    names = list(loops)
    for r in range(epochs):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(_timed(loops[name], device))
    return {name: statistics.median(t[1:]) for name, t in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--epochs", type=int, default=5, help="rounds; the first is a warm-up")
    p.add_argument("--batch-sizes", default="32,256")
    p.add_argument("--subset", type=int, default=None)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    device = torch.device(args.device)
    splits = load_data("fashion_mnist", dir=args.data_dir, subset=args.subset)
    x, y = splits.train.x.to(device), splits.train.y.to(device)
    n = len(x)
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, {n} training images")
    print(f"{'loop':<12}{'batch':>6}{'s/epoch':>10}{'samples/s':>12}{'vs deepfit':>12}")
    for bs in (int(b) for b in args.batch_sizes.split(",")):
        results = measure(x, y, bs, args.epochs, device)
        for name, s in results.items():
            print(f"{name:<12}{bs:>6}{s:>10.3f}{n / s:>12.0f}{s / results['deepfit']:>11.2f}x")


if __name__ == "__main__":
    main()
