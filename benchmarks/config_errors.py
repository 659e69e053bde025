"""Seconds from typing a `deepfit` command to its answer, for commands that stop before any training.

Each command runs as a fresh `python -m deepfit ...` process (imports included, as a user pays them), the
commands interleaved round by round; the table gives the median and the slowest of the rounds, whether the
command imported torch, and the 1-minute load average at the start. The config errors are answered from the
torch-free names (deepfit/names.py) before torch is imported (cli/train.py).

    python benchmarks/config_errors.py            # 5 rounds
    python benchmarks/config_errors.py --rounds 9
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "--help": ["--help"],
    "misspelt key": ["train", "--set", "model.activaton=elu"],
    "misspelt name": ["train", "--set", "optimizer.name=nadm"],
    "bad value": ["train", "--set", "train.epochs=0"],
}
# Runs the command as `deepfit` does and reports whether torch was imported by then.
_PROBE = ("import sys\nfrom deepfit.cli.main import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n"
          "    pass\nprint('torch' in sys.modules, file=sys.stderr)")


def time_command(argv: list[str]) -> tuple[float, bool]:
    """Wall seconds of one fresh process running `deepfit argv`, and whether it imported torch."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - t0
    return seconds, done.stderr.strip().splitlines()[-1] == "True"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=5, help="runs of each command, interleaved")
    args = p.parse_args()
    load = os.getloadavg()[0]
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    torch_imported: dict[str, bool] = {}
    for _ in range(args.rounds):
        for name, argv in COMMANDS.items():
            seconds, imported = time_command(argv)
            times[name].append(seconds)
            torch_imported[name] = imported
    print(f"python {sys.version.split()[0]}, {len(os.sched_getaffinity(0))} CPU cores, load average {load:.2f}, "
          f"{args.rounds} rounds")
    print(f"{'command':<16}{'median':>9}{'slowest':>9}  torch imported")
    for name, t in times.items():
        print(f"{name:<16}{statistics.median(t):>8.2f}s{max(t):>8.2f}s  {'yes' if torch_imported[name] else 'no'}")


if __name__ == "__main__":
    main()
