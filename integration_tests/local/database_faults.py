"""Faults a test inflicts on the local PostgreSQL, as the `postgres` superuser over TLS (or as
another role, to see what it may do): SQL in the function's database, a lock held by another
session for a bounded time, and the function's backends as the server sees them. Every wait
is bounded."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from integration_tests.local.postgres import PostgresServer
from integration_tests.local.processes import run, wait_until

HOLDER = "dr-fault-holder"  # application_name of the session holding a lock


def _dsn(server: PostgresServer, database: str, application: str, user: str = "postgres") -> str:
    return (
        f"host=127.0.0.1 port={server.port} user={user} dbname={database} "
        f"sslmode=verify-full sslrootcert={server.tls.ca_cert} connect_timeout=5 "
        f"application_name={application}"
    )


def _psql(
    server: PostgresServer, database: str, sql: str, application: str, user: str = "postgres"
) -> list[str]:
    return [
        str(server.bin_dir / "psql"),
        *("-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"),
        _dsn(server, database, application, user),
        "-c",
        sql,
    ]


def sql(server: PostgresServer, database: str, statement: str, user: str = "postgres") -> str:
    """Run `statement` (as `user`); its output, unaligned, tuples only."""
    return run(_psql(server, database, statement, "dr-fault", user), "psql").strip()


def backends(server: PostgresServer, user: str) -> int:
    """Sessions of `user`: what piles up when abandoned statements wait on."""
    return int(
        sql(server, "postgres", f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{user}'")
    )


def wait_until_sql(server: PostgresServer, condition: str, what: str, timeout: float = 10) -> None:
    """Wait until the SQL boolean `condition` holds (polled from here, bounded)."""
    wait_until(lambda: sql(server, "postgres", f"SELECT {condition}") == "t", what, timeout)


def wait_for_backends(server: PostgresServer, user: str, count: int, timeout: float) -> None:
    """A closed session's backend exits a moment after the client went: wait, bounded."""
    wait_until(lambda: backends(server, user) == count, f"{count} backend(s) of {user}", timeout)


@contextmanager
def held(
    server: PostgresServer,
    database: str,
    statement: str,
    *,
    until: str | None = None,
    seconds: float = 30,
) -> Iterator[subprocess.Popen[bytes]]:
    """Another session runs `statement` in a transaction and keeps it (and its locks) open, then
    rolls back: when the SQL condition `until` holds (polled every 10 ms on the server), or
    after `seconds`, or when the block ends, whichever comes first. Yields its process, whose
    exit status says whether `until` came true in time."""
    if until is None:
        wait = f"SELECT pg_sleep({seconds})"
    else:
        wait = (
            f"DO $$ BEGIN FOR i IN 1..{int(seconds / 0.01)} LOOP "
            f"PERFORM pg_stat_clear_snapshot(); IF {until} THEN RETURN; END IF; "
            "PERFORM pg_sleep(0.01); END LOOP; "
            f"RAISE EXCEPTION 'not within {seconds:g} s: %', {literal(until)}; END $$"
        )
    process = subprocess.Popen(
        _psql(server, database, f"BEGIN; {statement}; {wait}; ROLLBACK", HOLDER),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(
            lambda: (
                process.poll() is not None
                or sql(
                    server,
                    "postgres",
                    "SELECT count(*) FROM pg_stat_activity "
                    f"WHERE application_name = '{HOLDER}' AND wait_event = 'PgSleep'",
                )
                != "0"
            ),
            "the session holding the lock",
        )
        if process.poll() is not None:
            raise RuntimeError(f"the holding session ended early: {stderr(process)}")
        yield process
    finally:
        release(server)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def stderr(process: subprocess.Popen[bytes]) -> str:
    return process.stderr.read().decode(errors="replace") if process.stderr else ""


def waiting_on_locks(user: str) -> str:
    """SQL: how many sessions of `user` wait on a lock right now."""
    return (
        "(SELECT count(*) FROM pg_stat_activity "
        f"WHERE usename = '{user}' AND wait_event_type = 'Lock')"
    )


def release(server: PostgresServer) -> None:
    """End the holder's transaction now (its locks go with it)."""
    sql(
        server,
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE application_name = '{HOLDER}'",
    )


def terminate_when_blocked(
    server: PostgresServer, user: str, within: float = 5.0
) -> subprocess.Popen[bytes]:
    """In the background: as soon as a session of `user` waits on a lock, terminate it (as an
    operator's pg_terminate_backend or a failover would). Polls on the server every 10 ms, so
    it acts long before the session's lock_timeout. The caller waits for the process."""
    loops = int(within / 0.01)
    body = (
        "DO $$ DECLARE victim int; BEGIN "
        f"FOR i IN 1..{loops} LOOP "
        "PERFORM pg_stat_clear_snapshot(); "
        "SELECT pid INTO victim FROM pg_stat_activity "
        f"WHERE usename = '{user}' AND wait_event_type = 'Lock' LIMIT 1; "
        "IF victim IS NOT NULL THEN PERFORM pg_terminate_backend(victim); RETURN; END IF; "
        "PERFORM pg_sleep(0.01); END LOOP; "
        f"RAISE EXCEPTION 'no session of {user} waited on a lock within {within:g} s'; END $$"
    )
    return subprocess.Popen(
        _psql(server, "postgres", body, "dr-fault-terminator"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def settle(seconds: float) -> None:
    """Give a statement the client abandoned the time it would need to go on and commit."""
    time.sleep(seconds)
