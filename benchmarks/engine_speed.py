"""The training engine against plain PyTorch, in one process: seconds per epoch and ratios.

Tables (choose with --tables):
  single    the reference net (784-300-100-10 ReLU, He) at batch 32 and 256 with Nadam, SGD-momentum and Adam:
            a plain PyTorch loop (on-device permutation, torch.optim, foreach; and with torch's fused kernel
            where it has one) against deepfit's backends (eager and compile on the CPU; eager, compile and
            graph on CUDA)
  members   2, 4, ... K reference nets trained at once (Nadam) against deepfit's single-model path (compiled
            and eager): seconds per member-epoch, and how far each member's weights end from a single run
            with its seed
  deep      the vanishing study's net (100 hidden layers of 100 sigmoid units, SGD, batch 32), K members at
            once, eager against compile: milliseconds per member-step
  probes    the cost of the probe event (per-layer gradient norms, and the doctor's statistics, every 100
            steps) and of divergence detection (a per-epoch copy of the weights), per epoch

Rounds interleave the loops (order rotating), the first round is a warm-up (it compiles), and the table
gives the median of the others. Ratios are plain / deepfit: above 1, deepfit is faster.

    python benchmarks/engine_speed.py                        # CPU, full Fashion-MNIST (55,000 images)
    python benchmarks/engine_speed.py --subset 10000 --rounds 4
    python benchmarks/engine_speed.py --device cuda --members 64
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch
from train_speed import on_device_epoch  # the plain loop, shared with train_speed.py

from deepfit.data import TensorData, load_data
from deepfit.diagnose import DoctorProbe, GradientNormProbe
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Trainer, UpdateRule, objective_for

OPTIMIZERS = {"nadam": {"lr": 1e-3}, "momentum": {"lr": 0.01}, "adam": {"lr": 1e-3}}
FUSED = {"momentum", "adam"}  # torch.optim has a fused kernel for these on the CPU and on CUDA (not for NAdam)


def _model(device: torch.device, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(ModelSpec(input_shape=(28, 28), num_outputs=10)).to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_epoch(data: TensorData, bs: int, device: torch.device, optimizer: str) -> Callable[[], None]:
    """A plain PyTorch loop: on-device permutation, cross-entropy, backward, torch.optim step (foreach)."""
    return on_device_epoch(data.x, data.y, bs, device, optimizer, **OPTIMIZERS[optimizer])


def deepfit_epoch(data: TensorData, bs: int, device: torch.device, optimizer: str, engine: str,
                  members: int = 1, callbacks: tuple = ()) -> tuple[Callable[[], None], Trainer]:
    """deepfit's Trainer, one more epoch per call (it also sums loss and accuracy on the device)."""
    models = [_model(device, seed) for seed in range(members)]
    trainer = Trainer(models if members > 1 else models[0], objective_for("auto", "multiclass"),
                      UpdateRule(optimizer, OPTIMIZERS[optimizer]), batch_size=bs, device=device,
                      seed=list(range(members)) if members > 1 else 0, engine=engine, callbacks=list(callbacks))
    return (lambda: trainer.fit(data, None, epochs=trainer.epoch + 1, verbose=0)), trainer


def measure(loops: dict[str, Callable[[], None]], rounds: int, device: torch.device) -> dict[str, float]:
    """Median seconds per call of each loop over `rounds` rounds after a warm-up, in rotating order."""
    times: dict[str, list[float]] = {name: [] for name in loops}
    names = list(loops)
    for r in range(rounds + 1):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            t0 = time.perf_counter()
            loops[name]()
            _sync(device)
            if r:
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def _engines(device: torch.device) -> list[str]:
    return ["eager", "compile", "graph"] if device.type == "cuda" else ["eager", "compile"]


def table_single(data: TensorData, device: torch.device, rounds: int) -> None:
    steps = -(-len(data) // 32)
    print(f"\n## Single model: reference net, {len(data)} images ({steps} steps per epoch at batch 32)\n")
    print("| optimizer | batch | plain s/epoch | plain fused | " + " | ".join(
        f"{e} s/epoch | plain/{e}" for e in _engines(device)) + " |")
    print("|---|---:|---:|---:|" + "---:|---:|" * len(_engines(device)))
    for optimizer in OPTIMIZERS:
        for bs in (32, 256):
            loops = {"plain": plain_epoch(data, bs, device, optimizer)}
            if optimizer in FUSED:
                loops["fused"] = on_device_epoch(data.x, data.y, bs, device, optimizer, fused=True,
                                                 **OPTIMIZERS[optimizer])
            for engine in _engines(device):
                loops[engine] = deepfit_epoch(data, bs, device, optimizer, engine)[0]
            t = measure(loops, rounds, device)
            fused = f"{t['fused']:.3f}" if "fused" in t else "–"
            cells = " | ".join(f"{t[e]:.3f} | {t['plain'] / t[e]:.2f}x" for e in _engines(device))
            print(f"| {optimizer} | {bs} | {t['plain']:.3f} | {fused} | {cells} |", flush=True)


def table_members(data: TensorData, device: torch.device, rounds: int, members: int,
                  sizes: list[int] | None = None) -> None:
    """K = 2, 4, ... `members` nets at once against the single model, compiled and eager, in the same rounds:
    the per-member column shows where grouping stops paying (flat once the step is all arithmetic)."""
    engine = "graph" if device.type == "cuda" else "compile"
    sizes = sizes or [k for k in (2, 4, 8, 16, 32, 64) if k < members] + [members]
    print(f"\n## Up to {max(sizes)} reference nets at once (Nadam, batch 32), {len(data)} images\n")
    loops = {"single": deepfit_epoch(data, 32, device, "nadam", engine)[0],
             "single eager": deepfit_epoch(data, 32, device, "nadam", "eager")[0]}
    loops.update({k: deepfit_epoch(data, 32, device, "nadam", engine, members=k)[0] for k in sizes})
    t = measure(loops, rounds, device)
    print(f"| path | s/epoch | s per member-epoch | vs single ({engine}) | vs single (eager) |")
    print("|---|---:|---:|---:|---:|")
    for name, k, label in [("single", 1, f"single model ({engine})"), ("single eager", 1, "single model (eager)")] + [
            (k, k, f"{k} members ({engine})") for k in sizes]:
        per = t[name] / k
        print(f"| {label} | {t[name]:.3f} | {per:.4f} | {per / t['single']:.2f}x | {per / t['single eager']:.2f}x |")
    # equality: each member against a single run with its seed (eager, both), after 20 steps: per step the two
    # agree to float rounding; over many steps a chaotic loss surface (and Nadam's normalised steps on
    # near-zero gradients) magnifies rounding, as between any two matrix-product kernels
    check = TensorData(data.x[:640], data.y[:640])
    fit_group, grouped = deepfit_epoch(check, 32, device, "nadam", "eager", members=min(members, 4))
    fit_group()
    worst = 0.0
    for k, m in enumerate(grouped.models):
        fit_one, alone = deepfit_epoch(check, 32, device, "nadam", "eager")
        alone.models[0].load_state_dict(_model(device, k).state_dict())
        alone.generators[0].manual_seed(k)
        fit_one()
        for a, b in zip(m.parameters(), alone.model.parameters(), strict=True):
            worst = max(worst, float((a - b).detach().abs().max()))
    print(f"\nmax |member weight - single-run weight| after {len(check) // 32} steps: {worst:.2e}")


def table_deep(data: TensorData, device: torch.device, rounds: int, members: int) -> None:
    """A deep net's step has hundreds of parameter tensors: what the compiled step costs against eager there."""
    members = min(members, 4)
    data = TensorData(data.x[:1280], data.y[:1280])
    steps = len(data) // 32
    print(f"\n## 100 hidden layers of 100 sigmoid units, {members} members at once (SGD, batch 32), {steps} steps\n")

    def epoch(engine: str) -> Callable[[], None]:
        models = []
        for seed in range(members):
            torch.manual_seed(seed)
            models.append(build_model(ModelSpec(input_shape=(28, 28), num_outputs=10, hidden=[100] * 100,
                                                activation="sigmoid", init="glorot_uniform")).to(device))
        trainer = Trainer(models, objective_for("auto", "multiclass"), UpdateRule("sgd", {"lr": 1e-3}),
                          batch_size=32, device=device, seed=list(range(members)), engine=engine)
        return lambda: trainer.fit(data, None, epochs=trainer.epoch + 1, verbose=0)

    engines = _engines(device)
    t = measure({e: epoch(e) for e in engines}, rounds, device)
    print("| engine | ms per step | ms per member-step | eager / engine |")
    print("|---|---:|---:|---:|")
    for e in engines:
        ms = t[e] / steps * 1000
        print(f"| {e} | {ms:.1f} | {ms / members:.2f} | {t['eager'] / t[e]:.2f}x |")


def _probe_s(trainer: Trainer, data: TensorData, device: torch.device, calls: int = 50) -> float:
    """Seconds per probe event of `trainer` (its callbacks on the fixed probe batch), timed on their own."""
    batch = trainer._probe_batch(data)
    for _ in range(5):
        trainer._probe(batch)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(calls):
        trainer._probe(batch)
    _sync(device)
    return (time.perf_counter() - t0) / calls


def table_probes(data: TensorData, device: torch.device, rounds: int) -> None:
    """Whole epochs with and without probes, and each probe timed on its own: the epochs differ by less than
    their noise on a shared machine, so the cost column also comes from the probe's own time times the
    probes an epoch (every 100 steps and one at the epoch's end)."""
    print(f"\n## Probes and divergence detection (Nadam, batch 32, eager), {len(data)} images\n")
    plain, _ = deepfit_epoch(data, 32, device, "nadam", "eager")
    probed, grad_trainer = deepfit_epoch(data, 32, device, "nadam", "eager", callbacks=(GradientNormProbe(),))
    doctor, doctor_trainer = deepfit_epoch(data, 32, device, "nadam", "eager", callbacks=(DoctorProbe(),))
    t = measure({"plain": plain, "probed": probed, "doctor": doctor}, rounds, device)
    per_epoch = -(-len(data) // 32) // 100 + 1
    own = {"probed": _probe_s(grad_trainer, data, device), "doctor": _probe_s(doctor_trainer, data, device)}
    _, trainer = deepfit_epoch(data, 32, device, "nadam", "eager")
    group = trainer.group
    t0 = time.perf_counter()
    for _ in range(100):
        group.snapshot()
        torch.isfinite(torch.zeros(1, device=device))
    _sync(device)
    snapshot = (time.perf_counter() - t0) / 100
    print(f"| run | s/epoch | cost (epochs) | ms per probe | cost ({per_epoch} probes an epoch) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| no probes | {t['plain']:.3f} | | | |")
    labels = {"probed": "gradient-norm probe every 100 steps", "doctor": "the doctor's probe every 100 steps"}
    for key, label in labels.items():
        print(f"| {label} | {t[key]:.3f} | {t[key] / t['plain'] - 1:+.1%} | {own[key] * 1000:.2f} | "
              f"{per_epoch * own[key] / t['plain']:+.1%} |")
    print(f"| divergence detection (per-epoch weight copy) | {snapshot:.5f} | | | {snapshot / t['plain']:+.2%} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--rounds", type=int, default=3, help="timed rounds after the warm-up")
    p.add_argument("--subset", type=int, default=None, help="train on the first N images")
    p.add_argument("--members", type=int, default=16)
    p.add_argument("--member-sizes", default=None,
                   help="group sizes of the members table, e.g. 16 (default: 2, 4, ... up to --members)")
    p.add_argument("--tables", default="single,members,deep,probes")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    device = torch.device(args.device)
    splits = load_data("fashion_mnist", dir=args.data_dir, subset=args.subset)
    data = splits.train.to(device)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"load average {load:.2f} at the start")
    tables = args.tables.split(",")
    if "single" in tables:
        table_single(data, device, args.rounds)
    if "members" in tables:
        sizes = [int(k) for k in args.member_sizes.split(",")] if args.member_sizes else None
        table_members(data, device, args.rounds, args.members, sizes)
    if "deep" in tables:
        table_deep(data, device, args.rounds, args.members)
    if "probes" in tables:
        table_probes(data, device, args.rounds)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
