"""Signing in to a restored database: an IAM token as password, TLS verified against a CA file.

A restored Aurora cluster sits behind no RDS Proxy, and its certificate chains to the Amazon
RDS CAs, which no runtime's default trust store holds: the caller passes the RDS CA bundle
(`build/rds-ca-bundle.pem`, shipped in the validator's bundle). The certificate must also
name the host connected to (the instance's or cluster's endpoint). The session then bounds
its own statements on the server, so a restored database that stalls cannot hold a reader
past its bounds.
"""

from __future__ import annotations

import contextlib
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

CONNECT_TIMEOUT_S = 5.0
STATEMENT_TIMEOUT_S = 5.0


def iam_token(rds: Any, host: str, port: int, user: str, region: str) -> str:
    """An RDS IAM authentication token for `user`, signed locally (no network call). It is
    valid for 15 minutes, and only for this host and port."""
    return str(
        rds.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region)
    )


@cache
def _tls_context(ca_file: str) -> ssl.SSLContext:
    import ssl

    # Verification on, host name checked: create_default_context's defaults.
    return ssl.create_default_context(cafile=ca_file)


def connect(*, host: str, port: int, database: str, user: str, password: str, ca_file: str) -> Any:
    """A pg8000 native connection whose statements the server ends after
    STATEMENT_TIMEOUT_S; pg8000 applies CONNECT_TIMEOUT_S to every socket read too."""
    import pg8000.native

    connection = pg8000.native.Connection(
        user,
        host=host,
        port=port,
        database=database,
        password=password,
        ssl_context=_tls_context(ca_file),
        timeout=CONNECT_TIMEOUT_S,
        application_name="dr-restore-validator",
    )
    try:
        connection.run(
            "SELECT set_config('statement_timeout', :ms, false)",
            ms=f"{STATEMENT_TIMEOUT_S * 1000:.0f}",
        )
    except BaseException:
        close(connection)
        raise
    return connection


def close(connection: Any) -> None:
    # Best effort: the session may be gone already, and that error must not hide the first.
    with contextlib.suppress(Exception):
        connection.close()
