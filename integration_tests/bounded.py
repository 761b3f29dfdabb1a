"""Bounds on whole calls and on whole waits, whatever the server does.

botocore's read_timeout bounds each socket read, not a response: a server that drips its
answer a byte at a time, each byte inside the read timeout, keeps one call going for as long
as it likes. So every call the suite waits on runs in a daemon thread, and the caller stops
waiting at its own bound (printing progress meanwhile). An abandoned call is left to finish
or fail on its own: the run fails right after, and a daemon thread never holds up the
interpreter's exit.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

T = TypeVar("T")


def api_error(error: ClientError | BotoCoreError) -> str:
    """`Code: Message` of an AWS error, or the botocore error (e.g. a timeout) by its class."""
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        return f"{detail.get('Code', '?')}: {detail.get('Message', error)}"
    return f"{type(error).__name__}: {error}"


class NoAnswerError(Exception):
    """The call did not return within its bound; it was abandoned, not stopped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:.1f} s (the call was abandoned)")
        self.seconds = seconds


def finite_positive(value: float, name: str, shown: object = None) -> float:
    """`value`, or ValueError naming `name` (and `shown`, the value as given): NaN or
    infinity would make a bounded wait unbounded, and zero or less means nothing."""
    if not math.isfinite(value) or value <= 0:
        given = value if shown is None else shown
        raise ValueError(f"{name} must be a finite number above 0, not {given!r}")
    return value


def call_within(
    call: Callable[[], T],
    seconds: float,
    *,
    every: float,
    waiting: Callable[[float], None],
) -> T:
    """`call()`'s result or exception, if it comes within `seconds`; NoAnswerError otherwise.
    While it is awaited, `waiting(elapsed)` is called every `every` seconds."""
    if seconds <= 0:
        raise NoAnswerError(0.0)
    done = threading.Event()
    outcome: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as error:  # handed to the caller, who decides
            outcome.append((False, error))
        finally:
            done.set()

    started = time.monotonic()
    end = started + seconds
    threading.Thread(target=run, name="bounded-call", daemon=True).start()
    while not done.wait(max(0.0, min(every, end - time.monotonic()))):
        now = time.monotonic()
        if now >= end:
            raise NoAnswerError(seconds)
        waiting(now - started)
    succeeded, value = outcome[0]
    if not succeeded:
        assert isinstance(value, BaseException)
        raise value
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class Deadline:
    """A wait's bound (from `started`, a time.monotonic() value) and how long one call may
    take: no call starts after the bound, and none is waited for past bound + call_seconds,
    so the whole wait ends by then."""

    started: float
    bound_seconds: float
    call_seconds: float

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        return self.bound_seconds - self.elapsed()

    def call_budget(self) -> float:
        """How long the next call may be awaited."""
        return min(self.call_seconds, self.bound_seconds + self.call_seconds - self.elapsed())
