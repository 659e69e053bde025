"""Inference latency and throughput of batch-normalised dense nets before vs after `fold_batchnorm`.

For each placement (BN before / after the activation) and network, the unfolded and folded models run
interleaved in eval mode under `torch.inference_mode`; the table gives the median over repeats of
  latency     milliseconds per forward pass of a batch of 1
  throughput  samples per second at a large batch
and the ratio folded / unfolded (latency: < 1 is faster; throughput: > 1 is faster).

    python benchmarks/fold_batchnorm.py                  # CPU
    python benchmarks/fold_batchnorm.py --device cuda    # on a GPU
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from deepfit.nn import ModelSpec, build_model, fold_batchnorm

NETWORKS = {"300-100": [300, 100], "20x100": [100] * 20}


def _timed(fn: Callable[[], object], device: torch.device, inner: int) -> float:
    """Seconds per call of `fn`, averaged over `inner` calls."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / inner


def _models(hidden: list[int], norm: str, device: torch.device) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    model = build_model(ModelSpec(input_shape=(28, 28), num_outputs=10, hidden=hidden, norm=norm)).to(device)
    with torch.no_grad():  # give the moving averages realistic values before folding
        model.train()
        for _ in range(10):
            model(torch.randn(256, 28, 28, device=device))
    model.eval()
    return model, fold_batchnorm(model)


def measure(hidden: list[int], norm: str, device: torch.device, big_batch: int, repeats: int) -> dict[str, float]:
    unfolded, folded = _models(hidden, norm, device)
    one = torch.randn(1, 28, 28, device=device)
    big = torch.randn(big_batch, 28, 28, device=device)
    lat: dict[str, list[float]] = {"unfolded": [], "folded": []}
    thr: dict[str, list[float]] = {"unfolded": [], "folded": []}
    with torch.inference_mode():
        err = (unfolded(big) - folded(big)).abs().max().item()
        for r in range(repeats + 1):  # round 0 warms up
            for name, model in (("unfolded", unfolded), ("folded", folded)):
                latency = _timed(lambda m=model: m(one), device, inner=200)
                seconds = _timed(lambda m=model: m(big), device, inner=5)
                if r:
                    lat[name].append(latency)
                    thr[name].append(big_batch / seconds)
    med = {k: statistics.median(v) for k, v in lat.items()}
    tmed = {k: statistics.median(v) for k, v in thr.items()}
    return {
        "latency_ms": med["unfolded"] * 1e3,
        "folded_latency_ms": med["folded"] * 1e3,
        "latency_ratio": med["folded"] / med["unfolded"],
        "throughput": tmed["unfolded"],
        "folded_throughput": tmed["folded"],
        "throughput_ratio": tmed["folded"] / tmed["unfolded"],
        "max_abs_diff": err,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=4096, help="batch size of the throughput measurement")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}")
    print("| net | BN | latency ms (unfolded → folded) | ratio | samples/s (unfolded → folded) | ratio | max |diff| |")
    print("| --- | --- | --- | ---: | --- | ---: | ---: |")
    for net, hidden in NETWORKS.items():
        for norm in ("before", "after"):
            m = measure(hidden, norm, device, args.batch, args.repeats)
            print(
                f"| {net} | {norm} | {m['latency_ms']:.3f} → {m['folded_latency_ms']:.3f} | "
                f"{m['latency_ratio']:.2f} | {m['throughput']:,.0f} → {m['folded_throughput']:,.0f} | "
                f"{m['throughput_ratio']:.2f} | {m['max_abs_diff']:.1e} |"
            )


if __name__ == "__main__":
    main()
