#!/usr/bin/env python3
"""Wall-time benchmark of the project's commands on this machine (run via `make bench`).

Runs each command a few times after one warm-up (so installs are not counted) and prints
the median and the spread; the README's table comes from this output.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "make synth": ["make", "--no-print-directory", "synth"],
    "make test": ["make", "--no-print-directory", "test"],
}


def measure(command: list[str], runs: int) -> list[float]:
    subprocess.run(command, check=True, capture_output=True)  # warm-up: installs, caches
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per command (1-20)")
    args = parser.parse_args()
    if not 1 <= args.runs <= 20:
        parser.error("--runs must be between 1 and 20")
    print(f"{'command':<12} {'median':>8} {'min':>8} {'max':>8}  ({args.runs} runs)")
    for name, command in COMMANDS.items():
        timings = measure(command, args.runs)
        print(
            f"{name:<12} {statistics.median(timings):>7.2f}s {min(timings):>7.2f}s "
            f"{max(timings):>7.2f}s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
