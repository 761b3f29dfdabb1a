"""Small helpers for local servers: free ports, bounded waits, bounded commands."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence

COMMAND_TIMEOUT_S = 30.0


def as_child(command: list[str]) -> list[str]:
    """The command, made to receive SIGINT when this process dies (setpriv --pdeathsig, Linux
    util-linux), so a server cannot outlive a killed test run. Start it from the thread that
    lives as long as the server: the signal follows the starting thread, not the process."""
    if shutil.which("setpriv") is None:
        return command
    if command[:1] == ["setpriv"]:
        return ["setpriv", "--pdeathsig", "INT", *command[1:]]
    return ["setpriv", "--pdeathsig", "INT", "--", *command]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_until(ready: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f} s")
        time.sleep(0.02)


def run(command: Sequence[str], what: str, timeout: float = COMMAND_TIMEOUT_S) -> str:
    """Run to completion; on failure, raise with the command's own output."""
    result = subprocess.run(
        list(command), capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({result.returncode}): {result.stderr or result.stdout}")
    return result.stdout
