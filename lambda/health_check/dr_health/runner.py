"""The checks, run concurrently, each reported within one deadline.

A check that has not answered by the deadline is reported as TimeoutError and not waited for:
its thread ends on its own timeouts, and the late-write guard keeps it from writing a canary
after the report.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from dr_health import late_write
from dr_health.failures import describe

Check = Callable[[], dict[str, Any]]
# Every check reports within this, whatever its per-operation timeouts add up to (the
# function's own timeout is 30 s): a slow store is reported as such, never as no report.
CHECK_DEADLINE_S = 8.0


def _run(check: Check, reported: threading.Event, deadline: float) -> dict[str, Any]:
    late_write.enter(reported, deadline)
    started = time.perf_counter()
    try:
        report = {"healthy": True, **check()}
    except Exception as error:  # every failure is reported per component; none escapes
        report = {"healthy": False, **describe(error)}
    report["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return report


def _overdue(started: float, deadline_s: float) -> dict[str, Any]:
    return {
        "healthy": False,
        "error": "TimeoutError",
        "message": f"no answer within {deadline_s:g} s",
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def run_checks(checks: Mapping[str, Check], deadline_s: float = CHECK_DEADLINE_S) -> dict[str, Any]:
    """The report: `statusCode` 200 only when every component is healthy, else 503."""
    started = time.perf_counter()
    reported = threading.Event()
    deadline = time.monotonic() + deadline_s
    pool = ThreadPoolExecutor(max_workers=len(checks))
    futures = {name: pool.submit(_run, check, reported, deadline) for name, check in checks.items()}
    done, _ = wait(futures.values(), timeout=deadline_s)
    reported.set()
    # Not waiting for a check past the deadline: its thread ends on its own timeouts.
    pool.shutdown(wait=False, cancel_futures=True)
    components = {
        name: future.result() if future in done else _overdue(started, deadline_s)
        for name, future in futures.items()
    }
    healthy = all(component["healthy"] for component in components.values())
    return {"statusCode": 200 if healthy else 503, "healthy": healthy, "components": components}
