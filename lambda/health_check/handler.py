"""DR stage health check: one real round trip to each data store, run concurrently.

Environment (set by the stack): TABLE_NAME, BUCKET_NAME, BUCKET_KEY_ARN (the KMS key the
bucket must encrypt the canary with), DB_ENDPOINT, DB_READER_ENDPOINT, DB_PORT, DB_NAME,
DB_USER, CANARY_OBJECT_KEY, POWERTOOLS_SERVICE_NAME (the log lines'
`service` and the metrics' `service` dimension) and POWERTOOLS_METRICS_NAMESPACE; AWS_REGION
and the credentials come from the Lambda runtime. Powertools also honours POWERTOOLS_LOG_LEVEL
(default INFO), and POWERTOOLS_METRICS_DISABLED or POWERTOOLS_DEV, either of which, set to
true, stops the metrics (the stack sets none of them).

Each invocation returns the report (`statusCode` 200 only when every component is healthy,
else 503; it never raises for an unhealthy store) and prints to stdout, so to the function's
log group:
- one JSON log line (Powertools Logger, with the Lambda context), message "DR health check",
  the report under `report`; level INFO when healthy, WARNING when not;
- metrics in CloudWatch embedded metric format (no CloudWatch API call), in namespace
  POWERTOOLS_METRICS_NAMESPACE: `Healthy` (Count, 1 or 0) with the one dimension `service`,
  and per component `ComponentHealthy` (Count, 1 or 0) and `ComponentLatency` (Milliseconds)
  with the dimensions `service` and `Component`.

The canaries carry the time they were written, so after a point-in-time restore the newest
canary in each store tells how much data was lost:
- DynamoDB item `id = "health-check#canary"`, attribute `written_at` (ISO 8601, UTC);
- S3 object CANARY_OBJECT_KEY (`health-check/canary.json`), JSON `{"written_at": ...}`;
- PostgreSQL table `dr_canary`, row `id = 'health-check'`, column `written_at` (timestamptz).
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

# Powertools' package __init__ loads Logger, Metrics and Tracer whichever of its modules is
# imported, so no narrower import is cheaper; boto3 and pg8000 still load on first use.
from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

CANARY_ID = "health-check#canary"
DB_CANARY_ID = "health-check"
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 3.0
DB_TIMEOUT_S = 5.0
# Every check reports within this, whatever its per-operation timeouts add up to (the
# function's own timeout is 30 s): a slow store is reported as such, never as no report.
CHECK_DEADLINE_S = 8.0
MAX_ERROR_LENGTH = 300
REDACTED = "<redacted>"
# Error messages are written to the report and the logs: these are what a driver or SDK error
# could echo. A signed query string (the database IAM token is one), credentials in a URL (a
# DSN), `key=value` or `key: value` secrets, and AWS access key ids.
_SECRETS = (
    (re.compile(r"\?[^\s'\"]*x-amz-[^\s'\"]*", re.IGNORECASE), f"?{REDACTED}"),
    (re.compile(r"\b([a-z][a-z0-9+.-]*://)[^/\s@]+@", re.IGNORECASE), rf"\1{REDACTED}@"),
    (
        re.compile(
            r"\b([\w-]*(?:password|passwd|pwd|secret|token|signature|credential)[\w-]*"
            r"['\"]?\s*[:=]\s*['\"]?)[^\s'\",;&}]+",
            re.IGNORECASE,
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), REDACTED),
)
_CREDENTIAL_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID")

logger = Logger()  # service: POWERTOOLS_SERVICE_NAME
_clients_lock = threading.Lock()


class CanaryMismatchError(Exception):
    """A store answered, but not with what was written."""


class SupersededError(Exception):
    """The check outlived its invocation's deadline: it must not write a canary any more."""


# Each check thread's own "its invocation has reported" event (set by `_run`).
_invocation = threading.local()


def _ensure_current() -> None:
    """Called before every canary write, each retry of one included. Lambda freezes a check
    that missed its invocation's deadline and may thaw it during a later invocation, where its
    older canary would overwrite the newer one (a false mismatch, and a wrong answer to "how
    much data was lost")."""
    reported: threading.Event | None = getattr(_invocation, "reported", None)
    if reported is not None and reported.is_set():
        raise SupersededError("its invocation already reported; the canary was not written")


def _client(service: str) -> Any:
    # The checks run in threads, and boto3's default session must not create clients
    # concurrently (it can fail with KeyError on a cold start): one at a time.
    with _clients_lock:
        return _new_client(service)


# The canary writes through the SDK: guarded on every attempt, since botocore's retries resend
# the same (by then perhaps older) canary.
_CANARY_WRITES = {"dynamodb": "PutItem", "s3": "PutObject"}


def _refuse_if_superseded(**_: Any) -> None:
    _ensure_current()


@cache
def _new_client(service: str) -> Any:
    # Imported and built on first use and reused by warm invocations: nothing at import.
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    # AWS_REGION, like the IAM token: botocore itself reads only AWS_DEFAULT_REGION.
    client = boto3.client(service, region_name=os.environ["AWS_REGION"], config=config)
    if operation := _CANARY_WRITES.get(service):
        client.meta.events.register(f"before-send.{service}.{operation}", _refuse_if_superseded)
    return client


@cache
def _tls_context() -> ssl.SSLContext:
    # The runtime's trust store: RDS Proxy certificates chain to public Amazon roots.
    return ssl.create_default_context()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def check_dynamodb() -> dict[str, Any]:
    table, written = os.environ["TABLE_NAME"], _now()
    dynamodb = _client("dynamodb")
    dynamodb.put_item(TableName=table, Item={"id": {"S": CANARY_ID}, "written_at": {"S": written}})
    item = dynamodb.get_item(TableName=table, Key={"id": {"S": CANARY_ID}}, ConsistentRead=True)
    read = item.get("Item", {}).get("written_at", {}).get("S")
    if read != written:
        raise CanaryMismatchError(f"read back {read!r}, wrote {written!r}")
    return {"canary": written}


def check_s3() -> dict[str, Any]:
    bucket, key, written = os.environ["BUCKET_NAME"], os.environ["CANARY_OBJECT_KEY"], _now()
    s3 = _client("s3")
    put = s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"written_at": written}).encode())
    # The bucket's default encryption, under the stage's own key (not an AWS managed one).
    encryption = (put.get("ServerSideEncryption"), put.get("SSEKMSKeyId"))
    if encryption != ("aws:kms", os.environ["BUCKET_KEY_ARN"]):
        raise CanaryMismatchError(
            f"object stored with {encryption[0]!r} under key {encryption[1]!r}, not aws:kms "
            "under the bucket's key"
        )
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    read = json.loads(body).get("written_at")
    if read != written:
        raise CanaryMismatchError(f"read back {read!r}, wrote {written!r}")
    return {"canary": written}


def _connect(host_variable: str) -> Any:
    import pg8000.native

    host, port = os.environ[host_variable], int(os.environ["DB_PORT"])
    user = os.environ["DB_USER"]
    # A short-lived IAM token, signed locally: no network call, no stored password.
    token = _client("rds").generate_db_auth_token(
        DBHostname=host, Port=port, DBUsername=user, Region=os.environ["AWS_REGION"]
    )
    try:
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
    except OSError as error:  # reported as the driver reports it, without the token
        raise pg8000.native.InterfaceError(
            f"Can't create a connection to host {host} and port {port}: {error.strerror or error}"
        ) from None
    # The startup handshake is a series of small request/response messages: with Nagle's
    # algorithm on (pg8000 leaves it on), delayed ACKs stall them by ~40 ms per connection.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # The bound on every later read and write (pg8000 applies `timeout` only to sockets it
    # opens itself).
    sock.settimeout(DB_TIMEOUT_S)
    try:
        return pg8000.native.Connection(
            user,
            host=host,  # still the TLS server name that the certificate must match
            port=port,
            sock=sock,
            database=os.environ["DB_NAME"],
            password=token,
            ssl_context=_tls_context(),
        )
    except BaseException:
        sock.close()
        raise


def check_database_writer() -> dict[str, Any]:
    connection = _connect("DB_ENDPOINT")
    try:
        connection.run(
            "CREATE TABLE IF NOT EXISTS dr_canary (id text PRIMARY KEY, written_at timestamptz)"
        )
        _ensure_current()
        written = connection.run(
            "INSERT INTO dr_canary (id, written_at) VALUES (:id, clock_timestamp()) "
            "ON CONFLICT (id) DO UPDATE SET written_at = EXCLUDED.written_at "
            "RETURNING written_at",
            id=DB_CANARY_ID,
        )[0][0]
        read = connection.run("SELECT written_at FROM dr_canary WHERE id = :id", id=DB_CANARY_ID)
    finally:
        connection.close()
    if not read or read[0][0] != written:
        raise CanaryMismatchError(f"read back {read!r}, wrote {written!r}")
    return {"canary": written.isoformat()}


def check_database_reader() -> dict[str, Any]:
    connection = _connect("DB_READER_ENDPOINT")
    try:
        [(in_recovery, has_canary)] = connection.run(
            "SELECT pg_is_in_recovery(), to_regclass('dr_canary') IS NOT NULL"
        )
        newest = None
        if has_canary:  # the writer check creates the table on its first run
            newest = connection.run("SELECT max(written_at) FROM dr_canary")[0][0]
    finally:
        connection.close()
    return {"replica": in_recovery, "canary": newest.isoformat() if newest else None}


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "dynamodb": check_dynamodb,
    "s3": check_s3,
    "database_writer": check_database_writer,
    "database_reader": check_database_reader,
}


def sanitize(message: str) -> str:
    """The message without anything secret, redacted before it is cut to length (so a cut
    cannot leave half a secret that no longer matches)."""
    for variable in _CREDENTIAL_VARIABLES:
        if value := os.environ.get(variable):
            message = message.replace(value, REDACTED)
    for pattern, replacement in _SECRETS:
        message = pattern.sub(replacement, message)
    return message[:MAX_ERROR_LENGTH]


def _run(check: Callable[[], dict[str, Any]], reported: threading.Event) -> dict[str, Any]:
    _invocation.reported = reported
    started = time.perf_counter()
    try:
        report = {"healthy": True, **check()}
    except Exception as error:  # every failure is reported per component; none escapes
        report = {
            "healthy": False,
            "error": type(error).__name__,
            "message": sanitize(str(error) or type(error).__name__),
        }
    report["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return report


def _overdue(started: float) -> dict[str, Any]:
    return {
        "healthy": False,
        "error": "TimeoutError",
        "message": f"no answer within {CHECK_DEADLINE_S:g} s",
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def check_all() -> dict[str, Any]:
    started = time.perf_counter()
    reported = threading.Event()
    pool = ThreadPoolExecutor(max_workers=len(CHECKS))
    futures = {name: pool.submit(_run, check, reported) for name, check in CHECKS.items()}
    done, _ = wait(futures.values(), timeout=CHECK_DEADLINE_S)
    reported.set()
    # Not waiting for a check past the deadline: its thread ends on its own timeouts.
    pool.shutdown(wait=False, cancel_futures=True)
    components = {
        name: future.result() if future in done else _overdue(started)
        for name, future in futures.items()
    }
    healthy = all(component["healthy"] for component in components.values())
    return {
        "statusCode": 200 if healthy else 503,
        "healthy": healthy,
        "components": components,
    }


def _emit(values: dict[str, tuple[float, Any]], **dimensions: str) -> None:
    """One EMF document per dimension set: EMF applies every dimension set of a document to
    all of its metrics. Powertools adds `service` (POWERTOOLS_SERVICE_NAME) to each."""
    metrics = EphemeralMetrics()
    if not metrics.service:  # the alarms select on it: fail loudly rather than emit without
        raise RuntimeError("POWERTOOLS_SERVICE_NAME is not set")
    for name, value in dimensions.items():
        metrics.add_dimension(name=name, value=value)
    for name, (number, unit) in values.items():
        metrics.add_metric(name=name, unit=unit, value=number)
    metrics.flush_metrics(raise_on_empty_metrics=True)


def publish_metrics(report: dict[str, Any]) -> None:
    for name, component in report["components"].items():
        _emit(
            {
                "ComponentHealthy": (int(component["healthy"]), MetricUnit.Count),
                "ComponentLatency": (component["latency_ms"], MetricUnit.Milliseconds),
            },
            Component=name,
        )
    _emit({"Healthy": (int(report["healthy"]), MetricUnit.Count)})


def _handle(event: object, context: LambdaContext) -> dict[str, Any]:
    report = check_all()
    log = logger.info if report["healthy"] else logger.warning
    log("DR health check", extra={"report": report})
    publish_metrics(report)
    return report


# The entry point, `handler.handler`: Powertools adds the invocation's context (request id,
# cold start, function name, ARN and memory) to the log line. Wrapped rather than decorated
# because mypy sees Powertools untyped in the dev virtualenv and rejects untyped decorators.
handler = logger.inject_lambda_context(_handle)
