"""The late-write guard: a check writes no canary once its invocation has reported, nor one
that could still be running on the server when it reports.

Lambda freezes a check that missed its invocation's deadline and may thaw it during a later
invocation: its older canary must not be written then. Each store also refuses an older
canary (see canary.py); this guard keeps the write from being sent at all. A database write
may wait on the server up to its statement timeout, so it is sent only while that much time
is left before the deadline: it ends, committed or cancelled, before the report.
"""

from __future__ import annotations

import threading
import time
from typing import Any

# Room for the request to reach the server and its answer to come back.
NETWORK_MARGIN_S = 0.5

_invocation = threading.local()


class LateWriteError(Exception):
    """The canary write was not sent: its invocation has reported or is about to."""


def enter(reported: threading.Event, deadline: float) -> None:
    """Bind the calling (check) thread to its invocation: `reported` is set when the invocation
    reports, at the latest at `deadline` (time.monotonic())."""
    _invocation.reported = reported
    _invocation.deadline = deadline


def ensure_current(lasts_s: float = 0.0) -> None:
    """Before each canary write: LateWriteError if its invocation reported, or if a write that
    may last `lasts_s` on the server could not end before the deadline. A thread not bound to
    an invocation is not guarded."""
    reported: threading.Event | None = getattr(_invocation, "reported", None)
    if reported is None:
        return
    if reported.is_set():
        raise LateWriteError("its invocation already reported; the canary was not written")
    if lasts_s:
        left = _invocation.deadline - time.monotonic()
        if left < lasts_s + NETWORK_MARGIN_S:
            raise LateWriteError(
                f"{max(left, 0):.1f} s left before the report, and the write may last "
                f"{lasts_s:g} s on the server; the canary was not written"
            )


def refuse_if_late(**_: Any) -> None:
    """botocore `before-send` hook: runs before every attempt, so a retry that botocore would
    send after the report (the same, by then older, canary) is refused too."""
    ensure_current()
