"""Local only: the smoke test's poll (health.wait_until_healthy) against the synthesized
handler, with the database behind a gate that stands for an RDS Proxy whose targets are still
registering: connections are accepted and dropped until the gate opens."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from integration_tests.health import HealthCheckError, wait_until_healthy
from integration_tests.local.harness import LocalStage

SLACK = 1.0  # seconds a loaded machine (make test runs two chains at once) may add


class Gate:
    """A TCP listener in front of PostgreSQL: closed, it drops every connection at once;
    open, it forwards each one, byte for byte (TLS passes through untouched)."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._open = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def open(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:  # closed
                return
            if not self._open.is_set():
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self._target_port), timeout=5)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            end.close()


@pytest.fixture(scope="module")
def gated(local_stage: LocalStage) -> Iterator[tuple[Gate, str]]:
    gate = Gate(local_stage.postgres.port)
    name = f"{local_stage.function.name}-registering"
    local_stage.register_function(name, DB_PORT=str(gate.port))
    try:
        yield gate, name
    finally:
        gate.close()


@pytest.fixture(scope="module")
def lambda_client(local_stage: LocalStage) -> Any:
    return local_stage.lambda_client()


def test_the_poll_asks_again_until_the_report_is_healthy(
    gated: tuple[Gate, str], lambda_client: Any
) -> None:
    gate, name = gated
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        reports = [line for line in lines if "has not answered" not in line]
        if len(reports) == 2:  # after two unhealthy reports, the targets are registered
            gate.open()

    poll = wait_until_healthy(
        lambda_client, name, timeout_seconds=30, poll_seconds=0.2, progress=progress
    )
    assert poll.result.problems() == []
    assert poll.attempts == 3
    # One line per attempt (and, while a cold start is awaited, lines saying so).
    reports = [line for line in lines if "has not answered" not in line]
    assert [line.split(":")[0] for line in reports] == [
        "[health] attempt 1",
        "[health] attempt 2",
        "[health] attempt 3",
    ]
    for line in reports[:2]:
        assert ": unhealthy: statusCode 503, not 200; database_reader: " in line, line
        assert "database_writer: " in line and line.endswith(" s of 30 s)"), line
    assert reports[2].startswith("[health] attempt 3: healthy (elapsed ")


def test_an_invoke_that_never_finishes_answering_fails_at_its_budget(
    local_stage: LocalStage,
) -> None:
    client = local_stage.lambda_client()  # signed with the admin key
    # A health report is some 600 bytes: dripped a byte every 50 ms, ~30 s.
    local_stage.standin.inject_drip("Invoke", 0.05, principal=local_stage.moto.admin.access_key_id)
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(HealthCheckError) as raised:
        wait_until_healthy(
            client,
            local_stage.function.name,
            timeout_seconds=0.5,
            poll_seconds=0.2,
            progress=lines.append,
            call_seconds=1.0,
        )
    seconds = time.monotonic() - started
    assert 1.0 <= seconds < 0.5 + 1.0 + SLACK, seconds
    assert str(raised.value).startswith(
        f"Invoke of {local_stage.function.name} failed on attempt 1 after "
    )
    assert str(raised.value).endswith(": no answer within 1.0 s (the call was abandoned)")
    assert any(
        line.startswith("[health] attempt 1: ") and "has not answered" in line for line in lines
    )
