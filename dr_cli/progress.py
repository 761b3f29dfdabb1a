"""Waits that say what they wait for: every poll prints one line with the elapsed time and
the bound, and a wait that passes its bound stops the command with the last state seen."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO, TypeVar

from dr_cli.errors import CliError

T = TypeVar("T")


@dataclass
class Progress:
    stream: TextIO = sys.stderr
    quiet: bool = False
    clock: Callable[[], float] = time.monotonic
    sink: Callable[[str], None] | None = None  # each line to this instead of the stream

    def say(self, line: str) -> None:
        if self.quiet:
            return
        if self.sink is not None:
            self.sink(line)
        else:
            print(line, file=self.stream, flush=True)

    def wait(
        self,
        what: str,
        poll: Callable[[], tuple[bool, str]],
        *,
        bound_seconds: float,
        interval_seconds: float,
        max_interval_seconds: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> str:
        """Polls until `poll` says done (with its state's text); prints each state. Raises
        CliError naming `what`, the bound and the last state once the bound has passed."""
        started = self.clock()
        interval = interval_seconds
        cap = max_interval_seconds or interval_seconds
        self.say(f"waiting for {what} (at most {bound_seconds:.0f} s)")
        while True:
            done, state = poll()
            elapsed = self.clock() - started
            self.say(f"  [{elapsed:5.0f} s / {bound_seconds:.0f} s] {what}: {state}")
            if done:
                return state
            if elapsed >= bound_seconds:
                raise CliError(
                    f"{what} did not finish within {bound_seconds:.0f} s (last state: {state})"
                )
            sleep(min(interval, max(bound_seconds - elapsed, 0.0)))
            interval = min(interval * 2, cap)
