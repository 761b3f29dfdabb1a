"""Hostile servers whose errors repeat the secrets the client sent them: an AWS endpoint that
echoes the request's credentials and signature, and a PostgreSQL server (TLS, the local CA's
certificate) that echoes the password, the handler's IAM token, in its error and in a DSN."""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

from integration_tests.local.tls import TlsFiles

_SSL_REQUEST = 80877103


class _EchoingEndpoint(BaseHTTPRequestHandler):
    def _reject(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        echoed = (
            f"rejected X-Amz-Security-Token: {self.headers.get('X-Amz-Security-Token')}; "
            f"Authorization: {self.headers.get('Authorization')}"
        )
        if "X-Amz-Target" in self.headers:  # DynamoDB's JSON protocol
            content_type = "application/x-amz-json-1.0"
            body = json.dumps({"__type": "ValidationException", "message": echoed})
        else:  # S3's XML errors
            content_type = "application/xml"
            body = f"<Error><Code>InvalidRequest</Code><Message>{escape(echoed)}</Message></Error>"
        self.send_response(400)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


# http.server dispatches on `do_<METHOD>`, names the linter's naming rules would refuse.
for _method in ("GET", "PUT", "POST", "HEAD"):
    setattr(_EchoingEndpoint, f"do_{_method}", _EchoingEndpoint._reject)


@contextmanager
def echoing_aws_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _read(stream: Any, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.recv(size - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data


def _serve_one(connection: socket.socket, context: ssl.SSLContext) -> None:
    with connection:
        connection.settimeout(10)
        length, code = struct.unpack("!ii", _read(connection, 8))
        if (length, code) != (8, _SSL_REQUEST):
            return
        connection.sendall(b"S")
        with context.wrap_socket(connection, server_side=True) as tls:
            (length,) = struct.unpack("!i", _read(tls, 4))
            fields = _read(tls, length - 4)[4:].split(b"\0")
            params = dict(zip(fields[0::2], fields[1::2], strict=False))
            user = params.get(b"user", b"?").decode()
            database = params.get(b"database", b"?").decode()
            tls.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
            _, length = struct.unpack("!ci", _read(tls, 5))
            password = _read(tls, length - 4).rstrip(b"\0").decode()
            message = (
                f"password authentication failed for user {user}: "
                f"postgresql://{user}:{password}@127.0.0.1/{database} password={password}"
            )
            body = (
                b"".join(
                    tag + value.encode() + b"\0"
                    for tag, value in (
                        (b"S", "FATAL"),
                        (b"V", "FATAL"),
                        (b"C", "28P01"),
                        (b"M", message),
                    )
                )
                + b"\0"
            )
            tls.sendall(b"E" + struct.pack("!i", len(body) + 4) + body)


@contextmanager
def echoing_postgres(tls: TlsFiles) -> Iterator[int]:
    """Its port. Each connection: TLS, a cleartext password request, then FATAL 28P01 with
    the password repeated."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.server_cert, tls.server_key)
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    listener.settimeout(0.2)  # so the accepting thread sees `stopping` (close does not wake it)
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=_serve_one, args=(connection, context), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stopping.set()
        thread.join(timeout=5)
        listener.close()
