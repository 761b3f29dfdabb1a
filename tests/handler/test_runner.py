"""The checks run concurrently, and each is reported within the deadline."""

from __future__ import annotations

import threading
import time
from typing import Any

from dr_health import late_write
from dr_health.late_write import LateWriteError
from dr_health.runner import run_checks

from tests.handler.support import database_error

WAIT_S = 10.0  # the bound on every wait here; none comes near it when the code is right


def healthy() -> dict[str, Any]:
    return {"canary": "stub"}


def failing() -> dict[str, Any]:
    raise database_error("55P03", "canceling statement due to lock timeout")


def test_healthy_only_when_every_check_is() -> None:
    report = run_checks({"a": healthy, "b": healthy})
    assert (report["statusCode"], report["healthy"]) == (200, True)
    assert report["components"]["a"]["canary"] == "stub"
    assert report["components"]["a"]["latency_ms"] >= 0


def test_a_failing_check_is_reported_on_its_own_component() -> None:
    report = run_checks({"a": healthy, "b": failing})
    assert (report["statusCode"], report["healthy"]) == (503, False)
    assert report["components"]["a"]["healthy"] is True
    b = report["components"]["b"]
    assert (b["healthy"], b["error"]) == (False, "DatabaseError")
    assert b["message"] == "55P03 canceling statement due to lock timeout"


def test_a_check_that_never_answers_is_reported_at_the_deadline_and_writes_nothing_later() -> None:
    """It is not waited for; when it goes on after the report (as a thawed Lambda environment
    would let it), its canary write is refused."""
    release = threading.Event()
    late: list[BaseException | None] = []
    finished = threading.Event()

    def hangs() -> dict[str, Any]:
        release.wait(WAIT_S)
        try:
            late_write.ensure_current()
            late.append(None)
        except LateWriteError as error:
            late.append(error)
        finished.set()
        return {}

    started = time.monotonic()
    report = run_checks({"slow": hangs, "fast": healthy}, deadline_s=0.05)
    elapsed = time.monotonic() - started
    slow = report["components"]["slow"]
    assert (slow["healthy"], slow["error"]) == (False, "TimeoutError")
    assert slow["message"] == "no answer within 0.05 s"
    assert report["components"]["fast"]["healthy"] is True
    assert elapsed < WAIT_S / 2  # reported without waiting for the hanging check
    release.set()
    assert finished.wait(WAIT_S)
    assert isinstance(late[0], LateWriteError)
