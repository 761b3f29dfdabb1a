#!/usr/bin/env python3
"""Benchmark of the project on this machine (run via `make bench`).

- Wall time of `make synth`, `make unit` and `make test`: each command a few times after one
  warm-up (so installs are not counted), median and spread.
- The health-check handler, from the asset `cdk synth` produced, against the local stand-ins
  (PostgreSQL with TLS, moto, the AWS stand-in): cold import (median of fresh workers) and
  warm invocations (p50/p95 inside the worker, and the round trip through Lambda Invoke).
- The restore validator, from its synthesized asset, the same way: cold import, and one local
  restore test per store (back up a canary of known age, restore, validate) with the RPO and
  RTO it measured and the wall time of the whole validation.

The README's tables come from this output.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script: make the repository's packages importable.
sys.path.insert(0, str(ROOT))

from integration_tests.local.harness import local_stage, measure_handler, summary  # noqa: E402
from integration_tests.local.restore_stage import RestoreStage  # noqa: E402

STORES = ("aurora", "dynamodb", "s3")
# The backed-up canary's age: the RPO a validation should measure (plus seconds of test time).
CANARY_AGE = timedelta(minutes=30)

MANIFEST = ROOT / "cdk.out" / "manifest.json"
COMMANDS = {
    "make synth": ["make", "--no-print-directory", "synth"],
    # The pipeline's gate; its goal is at most twice one synth.
    "make unit": ["make", "--no-print-directory", "unit"],
    "make test": ["make", "--no-print-directory", "test"],
}


def measure(command: list[str], runs: int, fresh: Path | None = None) -> list[float]:
    """Wall times of `command`; `fresh`: a file removed before each run, so a file target
    (`make synth` builds cdk.out/manifest.json) does its work every time."""

    def run() -> None:
        if fresh is not None:
            fresh.unlink(missing_ok=True)
        done = subprocess.run(command, check=False, capture_output=True, text=True)
        if done.returncode:
            tail = (done.stdout + done.stderr)[-3000:]
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{tail}")

    run()  # warm-up: installs, caches
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per command (1-20)")
    parser.add_argument(
        "--invocations", type=int, default=200, help="warm handler invocations (10-5000)"
    )
    args = parser.parse_args()
    if not 1 <= args.runs <= 20:
        parser.error("--runs must be between 1 and 20")
    if not 10 <= args.invocations <= 5000:
        parser.error("--invocations must be between 10 and 5000")
    print(f"{'command':<12} {'median':>8} {'min':>8} {'max':>8}  ({args.runs} runs)")
    medians = {}
    for name, command in COMMANDS.items():
        timings = measure(command, args.runs, MANIFEST if name == "make synth" else None)
        medians[name] = statistics.median(timings)
        print(
            f"{name:<12} {medians[name]:>7.2f}s {min(timings):>7.2f}s {max(timings):>7.2f}s",
            flush=True,
        )
    ratio = medians["make unit"] / medians["make synth"]
    print(f"make unit / make synth: {ratio:.2f} (goal <= 2)", flush=True)
    handler_benchmark(args.invocations)
    validator_benchmark()
    return 0


def handler_benchmark(invocations: int) -> None:
    with local_stage() as stage:
        timings = summary(measure_handler(stage, cold_starts=9, warm_invocations=invocations))
    print(f"\nhealth-check handler ({invocations} warm invocations, local stand-ins)")
    print(f"  cold import (median of 9)    {timings['cold_import_p50_ms']:7.1f} ms  (goal < 150)")
    print(
        f"  first invocation (median)    {timings['first_invocation_p50_ms']:7.1f} ms  "
        "(cold: SDK clients and connections created)"
    )
    print(
        f"  warm invocation p50 / p95    {timings['warm_handler_p50_ms']:7.1f} / "
        f"{timings['warm_handler_p95_ms']:.1f} ms  (goal p50 < 25)"
    )
    print(
        f"  via Lambda Invoke p50 / p95  {timings['warm_round_trip_p50_ms']:7.1f} / "
        f"{timings['warm_round_trip_p95_ms']:.1f} ms",
        flush=True,
    )


def validator_benchmark(cold_starts: int = 9) -> None:
    with local_stage() as stage:
        restore = RestoreStage(stage)
        try:
            name = restore.function.name
            client = stage.lambda_client()
            for _ in range(cold_starts):
                stage.standin.stop_worker(name)
                answer = client.invoke(FunctionName=name, Payload=b'{"Records": []}')
                if answer.get("FunctionError"):
                    raise RuntimeError(f"validator failed: {answer['Payload'].read()!r}")
            cold = stage.standin.function_timings(name).cold_import_seconds[-cold_starts:]
            print(f"\nrestore validator ({restore.source})")
            median_ms = statistics.median(cold) * 1000
            print(f"  cold import (median of {cold_starts})    {median_ms:7.1f} ms")
            print(f"  one local restore test per store, canary backed up {CANARY_AGE} before:")
            for store in STORES:
                canary = datetime.now(UTC).replace(microsecond=0) - CANARY_AGE
                restore.write_canary(store, canary)
                point = restore.back_up(store)
                restore.write_canary(store, datetime.now(UTC))  # not in the restored copy
                started = time.perf_counter()
                validation = restore.validate(restore.restore_test(point))
                wall = time.perf_counter() - started
                status = validation.job.get("ValidationStatus")
                if status != "SUCCESSFUL":
                    raise RuntimeError(f"{store}: {status}: {validation.job}")
                metrics = validation.metrics()
                print(
                    f"  {store:<9} {status}  RPO {metrics['RestoreRpoSeconds']:7.0f} s  "
                    f"RTO {metrics['RestoreRtoSeconds']:5.1f} s  validation {wall:5.1f} s",
                    flush=True,
                )
        finally:
            restore.close()


if __name__ == "__main__":
    sys.exit(main())
