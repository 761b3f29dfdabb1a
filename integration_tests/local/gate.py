"""A forwarder to moto that holds chosen requests until the test lets them go: a way to order
two runs' requests deterministically (e.g. another run's write between one run's write and its
read), as overlapping invocations may order them in AWS.

It forwards every request as received (headers included, so SigV4 signatures still verify) and
answers with moto's response. `hold((operation, after), ...)` makes the requests of each
operation wait until `release()`: all of them, or (with `after` named) those that arrive once
an `after` request has passed, e.g. the read that follows a write. `wait_held(n)` waits until
n requests are waiting. Every wait is bounded: a held request goes on by itself after
HOLD_LIMIT_S, so a failing test cannot hang on it.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOLD_LIMIT_S = 20.0
# Hop-by-hop, or handled by this forwarder itself (Expect: 100-continue).
_NOT_FORWARDED = {"connection", "keep-alive", "expect", "transfer-encoding", "proxy-connection"}


def operation(method: str, path: str, headers: Any) -> str:
    """DynamoDB's operation from X-Amz-Target; S3's object operations from method and path."""
    target = headers.get("X-Amz-Target")
    if target:
        return str(target).rsplit(".", 1)[-1]
    path = urlsplit(path).path
    if path.count("/") >= 2:  # /bucket/key...
        return {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject"}.get(method, method)
    return f"{method} {path}"


class Gate:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._condition = threading.Condition()
        self._rules: tuple[tuple[str, str | None], ...] = ()
        self._passed: set[str] = set()
        self._held = 0
        self._generation = 0
        self._server = _Server(self)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def hold(self, *rules: tuple[str, str | None]) -> None:
        with self._condition:
            self._rules, self._passed = rules, set()

    def release(self) -> None:
        with self._condition:
            self._rules = ()
            self._generation += 1
            self._condition.notify_all()

    def wait_held(self, count: int, timeout: float = 10.0) -> None:
        with self._condition:
            if not self._condition.wait_for(lambda: self._held >= count, timeout):
                raise TimeoutError(f"{self._held} request(s) held after {timeout:g} s, not {count}")

    def _admit(self, name: str) -> None:
        with self._condition:
            if not any(
                name == operation and after in (None, *self._passed)
                for operation, after in self._rules
            ):
                self._passed.add(name)
                return
            generation = self._generation
            self._held += 1
            self._condition.notify_all()
            self._condition.wait_for(lambda: self._generation != generation, HOLD_LIMIT_S)
            self._held -= 1

    def forward(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> http.client.HTTPResponse:
        self._admit(operation(method, path, headers))
        connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            if name.lower() not in _NOT_FORWARDED:
                connection.putheader(name, value)
        connection.endheaders(body)
        return connection.getresponse()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, gate: Gate) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.gate = gate


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        response = self.server.gate.forward(self.command, self.path, self.headers, body)
        payload = response.read()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in _NOT_FORWARDED and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


for _method in ("GET", "PUT", "POST", "HEAD", "DELETE"):
    setattr(_Handler, f"do_{_method}", _Handler.forward)


@contextmanager
def gate(upstream: str) -> Iterator[Gate]:
    opened = Gate(upstream)
    try:
        yield opened
    finally:
        opened.close()
