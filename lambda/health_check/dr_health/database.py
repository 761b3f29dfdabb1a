"""PostgreSQL through the RDS Proxy, TLS verified, an IAM token as password, signed in as the
least-privilege role DB_USER (dr_health: it may read and write dr_canary and create nothing).
The database roles bootstrap (lambda/db_bootstrap) creates that role and dr_canary: a missing
table is reported, never created here.

The writer upserts the canary row (never moving it backwards) and gets back what is stored;
the reader reads the newest canary. Each session's first statement also checks the canary
table's columns and sets server-side bounds, so nothing either check starts outlives it on
the server:
- statement_timeout and lock_timeout: a statement blocked by a lock is cancelled by the
  server within the bound, instead of waiting on after the client gave up, committing its
  canary after the report and holding one backend per invocation;
- idle_session_timeout and idle_in_transaction_session_timeout: a session whose Lambda
  environment froze (a check past its deadline) is ended by the server.
They are set with set_config, not as startup parameters (whether RDS Proxy passes those on is
not documented; set_config is a documented pinning condition, so the settings hold for every
statement of the session, which the check keeps for a few statements only). That first
statement reads only catalogs, which no lock on dr_canary blocks. PostgreSQL 17's
transaction_timeout would bound whole transactions, but 15 (the local tests') rejects it, and
every statement here is its own transaction, bounded by statement_timeout.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
from datetime import datetime
from functools import cache
from typing import Any

from dr_health import canary, late_write
from dr_health.clients import CONNECT_TIMEOUT_S, client

# The client's bound on every socket read and write, above the server's statement timeout so
# that a slow statement is reported with the server's own reason.
DB_TIMEOUT_S = 5.0
STATEMENT_TIMEOUT_S = 2.0
LOCK_TIMEOUT_S = 1.0
IDLE_TIMEOUT_S = 3.0
_BOUNDS = {
    "statement_timeout": STATEMENT_TIMEOUT_S,
    "lock_timeout": LOCK_TIMEOUT_S,
    "idle_session_timeout": IDLE_TIMEOUT_S,
    "idle_in_transaction_session_timeout": IDLE_TIMEOUT_S,
}
_TABLE = canary.POSTGRES_TABLE
_COLUMNS = tuple(canary.POSTGRES_COLUMNS)


def _column_type(column: str) -> str:
    return (
        "(SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        f"WHERE attrelid = to_regclass('{_TABLE}') AND attname = '{column}' "
        "AND attnum > 0 AND NOT attisdropped)"
    )


# One round trip: the bounds for this session, whether the server is a replica, and the canary
# table's columns (their types, or NULL for a missing table or column).
_PROBE = (
    "WITH bounds AS (SELECT "
    + ", ".join(
        f"set_config('{name}', '{seconds * 1000:.0f}', false)" for name, seconds in _BOUNDS.items()
    )
    + ") SELECT pg_is_in_recovery(), "
    + f"to_regclass('{_TABLE}') IS NOT NULL, "
    + ", ".join(_column_type(column) for column in _COLUMNS)
    + " FROM bounds"
)
# The health check's role may not create it (least privilege): the bootstrap does, in every
# stage, and every backup and restored copy has it.
MISSING_TABLE = (
    f"{_TABLE} does not exist: the Data stack's database roles bootstrap creates it "
    "(Custom::DatabaseRoles)"
)
# The server's clock stamps the canary; GREATEST keeps a newer one an overlapping run wrote
# (the row is updated either way, so the write path is exercised), and RETURNING gives back
# what is stored.
_UPSERT = (
    "WITH now AS (SELECT clock_timestamp() AS written_at) "
    f"INSERT INTO {_TABLE} (id, written_at) SELECT :id, written_at FROM now "
    f"ON CONFLICT (id) DO UPDATE SET written_at = GREATEST({_TABLE}.written_at, "
    "EXCLUDED.written_at) "
    f"RETURNING {_TABLE}.written_at, (SELECT written_at FROM now)"
)
_NEWEST = f"SELECT max(written_at), clock_timestamp() FROM {_TABLE}"


class ReplicaError(Exception):
    """The writer endpoint reached a server in recovery: a replica, which cannot take writes."""


def check_writer() -> dict[str, Any]:
    connection = _connect(os.environ["DB_ENDPOINT"])
    try:
        in_recovery, columns = _probe(connection)
        if in_recovery:
            raise ReplicaError("the writer endpoint reached a server in recovery (a replica)")
        if columns is None:
            raise canary.CanarySchemaError(MISSING_TABLE)
        canary.confirm_columns(columns)
        # The upsert may wait on a lock for up to the statement timeout: it must end before
        # the invocation reports.
        late_write.ensure_current(STATEMENT_TIMEOUT_S)
        [(stored, written)] = connection.run(_UPSERT, id=canary.POSTGRES_ROW_ID)
    finally:
        _close(connection)
    return {"canary": canary.confirm(written, stored).isoformat()}


def check_reader() -> dict[str, Any]:
    connection = _connect(os.environ["DB_READER_ENDPOINT"])
    newest: datetime | None = None
    try:
        in_recovery, columns = _probe(connection)
        if columns is None:
            raise canary.CanarySchemaError(MISSING_TABLE)
        canary.confirm_columns(columns)
        [(newest, clock)] = connection.run(_NEWEST)
        if newest is not None:
            canary.not_ahead(newest, clock)
    finally:
        _close(connection)
    return {"replica": in_recovery, "canary": newest.isoformat() if newest else None}


def _probe(connection: Any) -> tuple[bool, dict[str, str | None] | None]:
    [(in_recovery, exists, *types)] = connection.run(_PROBE)
    return bool(in_recovery), dict(zip(_COLUMNS, types, strict=True)) if exists else None


def _close(connection: Any) -> None:
    # Best effort: the session may already be gone (that is often why the check failed), and
    # an error from closing it must not replace the error that says why.
    with contextlib.suppress(Exception):
        connection.close()


@cache
def _tls_context() -> ssl.SSLContext:
    # The runtime's trust store: RDS Proxy certificates chain to public Amazon roots.
    return ssl.create_default_context()


@cache
def _connection_class() -> Any:
    import pg8000.native

    class Connection(pg8000.native.Connection):  # type: ignore[misc]  # pg8000 is untyped
        """Keeps the server's last ErrorResponse. A server that ends the session (e.g.
        pg_terminate_backend: FATAL 57P01) says why and then closes the socket, and pg8000
        raises only InterfaceError("network error") for the closed socket: the reason is
        raised instead."""

        server_error: Exception | None = None

        def handle_ERROR_RESPONSE(self, data: bytes, context: Any) -> None:  # noqa: N802
            super().handle_ERROR_RESPONSE(data, context)
            self.server_error = context.error

        def run(self, sql: str, stream: Any = None, types: Any = None, **params: Any) -> Any:
            self.server_error = None
            try:
                return super().run(sql, stream=stream, types=types, **params)
            except pg8000.native.InterfaceError as error:
                if self.server_error is None:
                    raise
                raise self.server_error from error
            except TimeoutError:  # pg8000 lets the socket's own "timed out" through
                raise _no_answer() from None

    return Connection


def _connect(host: str) -> Any:
    import pg8000.native

    port, user = int(os.environ["DB_PORT"]), os.environ["DB_USER"]
    # A short-lived IAM token, signed locally: no network call, no stored password.
    token = client("rds").generate_db_auth_token(
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
        return _connection_class()(
            user,
            host=host,  # still the TLS server name that the certificate must match
            port=port,
            sock=sock,
            database=os.environ["DB_NAME"],
            password=token,
            ssl_context=_tls_context(),
        )
    except TimeoutError:  # accepted, then silence: in the TLS or startup handshake
        sock.close()
        raise _no_answer() from None
    except BaseException:
        sock.close()
        raise


def _no_answer() -> TimeoutError:
    return TimeoutError(f"the database did not answer within {DB_TIMEOUT_S:g} s")
