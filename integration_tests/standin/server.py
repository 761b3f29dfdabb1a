"""The stand-in's HTTP server on 127.0.0.1: routes each request to its service, checks its
signature, applies injected faults, and records who called what."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from integration_tests.standin.auth import AuthError, Caller, CredentialStore, Issuer
from integration_tests.standin.backup import BackupService
from integration_tests.standin.control import CONTROL_PREFIX, Fault, handle_control
from integration_tests.standin.lambda_service import LambdaService
from integration_tests.standin.protocol import (
    AwsError,
    Request,
    Response,
    new_request_id,
    query_error,
    query_namespace,
    rest_json_error,
)
from integration_tests.standin.rds import RdsService
from integration_tests.standin.restore import RestoreJobs

_log = logging.getLogger(__name__)

# The error codes AWS answers an authentication failure with, per protocol.
_AUTH_CODES = {
    "rest-json": {
        "missing": "MissingAuthenticationTokenException",
        "unknown_key": "UnrecognizedClientException",
        "bad_token": "UnrecognizedClientException",
        "bad_signature": "InvalidSignatureException",
    },
    "query": {
        "missing": "MissingAuthenticationToken",
        "unknown_key": "InvalidClientTokenId",
        "bad_token": "InvalidClientTokenId",
        "bad_signature": "SignatureDoesNotMatch",
    },
}


# What a stand-in bug is answered with (HTTP 500, which botocore retries, then raises): AWS's
# common InternalFailure, and the ServiceException Lambda's model has for its own failures.
_INTERNAL_CODES = {
    "backup": "InternalFailure",
    "lambda": "ServiceException",
    "rds": "InternalFailure",
}
_QUERY = ("rds",)


class Service(Protocol):
    def operation(self, request: Request) -> str | None: ...
    def handle(self, operation: str, request: Request, caller: Caller) -> Response: ...


class _Backup:
    """AWS Backup's one endpoint: backup jobs and vaults, and restore jobs."""

    def __init__(self, jobs: BackupService, restores: RestoreJobs) -> None:
        self._parts: tuple[Service, ...] = (jobs, restores)

    def operation(self, request: Request) -> str | None:
        return next(filter(None, (part.operation(request) for part in self._parts)), None)

    def handle(self, operation: str, request: Request, caller: Caller) -> Response:
        part = next(p for p in self._parts if p.operation(request) == operation)
        return part.handle(operation, request, caller)


class Standin:
    def __init__(self, region: str = "us-east-1", issuer: Issuer | None = None) -> None:
        """`issuer`: looks up temporary credentials an STS (moto's) issued, by access key."""
        self.region = region
        self.credentials = CredentialStore(issuer)
        self.backup = BackupService(region)
        self.restores = RestoreJobs(region, self.backup)
        self.rds = RdsService(region)
        self.lambda_ = LambdaService(region)
        self._services: dict[str, Service] = {
            "backup": _Backup(self.backup, self.restores),
            "lambda": self.lambda_,
            "rds": self.rds,
        }
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._records: list[dict[str, Any]] = []
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.lambda_.close()

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def records(self, principal: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self._records if principal in (None, r["principal"])]

    def reset(self) -> None:
        """Forget faults, job scripts and records (vaults, keys and functions stay)."""
        with self._lock:
            self._faults.clear()
            self._records.clear()
        self.backup.reset()
        self.rds.reset()

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return handle_control(self, request)
        name = _service_name(request)
        protocol = "query" if name in _QUERY else "rest-json"
        request_id = new_request_id()

        def render(error: AwsError, request_id: str) -> Response:
            if protocol == "query":
                return query_error(error, request_id, query_namespace(name))
            return rest_json_error(error, request_id)

        record: dict[str, Any] = {"service": name, "operation": None, "time": time.time()}
        record.update(access_key_id=None, session_token=None, principal=None, arn=None)
        record["signature_verified"] = False
        try:
            service = self._services[name]
            operation = service.operation(request)
            record["operation"] = operation
            if operation is None:
                raise AwsError("UnknownOperationException", f"{request.method} {request.path}", 404)
            try:
                caller = self.credentials.authenticate(
                    request.method, request.raw_path, request.headers, request.body
                )
            except AuthError as error:
                raise AwsError(_AUTH_CODES[protocol][error.kind], str(error), 403) from error
            creds = caller.credentials
            record.update(
                access_key_id=creds.access_key_id,
                session_token=creds.session_token,
                principal=creds.principal,
                arn=creds.arn,
                signature_verified=True,
                params=_params(name, request),
            )
            fault = self._take_fault(operation, creds.principal)
            if fault is not None and fault.body is not None:
                response = Response(
                    fault.status, fault.body.encode(), {"Content-Type": fault.content_type}
                )
            else:
                response = service.handle(operation, request, caller)
            if fault is not None and fault.drip_seconds > 0:
                response = replace(response, drip_seconds=fault.drip_seconds)
        except AwsError as error:
            response = render(error, request_id)
            record["error_code"] = error.code
        except ValueError as error:  # a body that is not what the protocol says
            response = render(AwsError("SerializationException", str(error)), request_id)
            record["error_code"] = "SerializationException"
        except Exception as error:  # a stand-in bug: an error answer, not a dropped connection
            _log.exception(
                "stand-in bug in %s (%s %s)", record["operation"], request.method, request.path
            )
            code = _INTERNAL_CODES[name]
            detail = f"stand-in bug: {type(error).__name__}: {error}"
            response = render(AwsError(code, detail, 500), request_id)
            record["error_code"] = code
        record["status"] = response.status
        record.setdefault("params", {}).update(response.record)
        with self._lock:
            self._records.append(record)
        response.headers.setdefault("x-amzn-RequestId", request_id)
        return response

    def _take_fault(self, operation: str, principal: str) -> Fault | None:
        """The fault this call meets, if any: an error or crash is raised here; an answer to
        send instead, or a drip, is returned."""
        with self._lock:
            for fault in self._faults:
                if fault.operation == operation and fault.principal in (None, principal):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    if fault.crash:
                        raise RuntimeError(f"injected crash: {fault.message}")
                    if fault.body is None and fault.drip_seconds <= 0:
                        raise AwsError(fault.code, fault.message, fault.status)
                    return fault
        return None


def _service_name(request: Request) -> str:
    # The signing scope names the service; unsigned requests are told apart by their path.
    credential = (request.header("Authorization") or "").partition("Credential=")[2]
    scope = credential.split(",")[0].split("/")
    if len(scope) >= 4 and scope[3] in _INTERNAL_CODES:
        return scope[3]
    if request.path.startswith("/2015-03-31/"):
        return "lambda"
    return "rds" if request.path == "/" else "backup"


def _params(service: str, request: Request) -> dict[str, Any]:
    if service in _QUERY:
        return {k: v for k, v in request.form().items() if k not in ("Action", "Version")}
    if service == "backup" and request.method == "PUT":
        return {"path": request.path, **request.json()}
    return {"path": request.path, **({"query": request.query} if request.query else {})}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, standin: Standin) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.standin = standin


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    # Small responses on a kept-alive connection: without this, Nagle plus the client's
    # delayed ACK add ~40 ms to every call.
    disable_nagle_algorithm = True
    server: _Server

    def serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, dict(self.headers.items()), body)
        response = self.server.standin.dispatch(request)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.drip_seconds <= 0:
            self.wfile.write(response.body)
            return
        try:
            for index in range(len(response.body)):
                self.wfile.flush()
                time.sleep(response.drip_seconds)
                self.wfile.write(response.body[index : index + 1])
            self.wfile.flush()
        except OSError:  # the client gave up waiting, as it should
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request record is the log."""


# http.server dispatches on `do_<METHOD>`, names the linter's naming rules would refuse.
for _method in ("GET", "PUT", "POST", "DELETE"):
    setattr(_Handler, f"do_{_method}", _Handler.serve)
