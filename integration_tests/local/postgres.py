"""PostgreSQL 15 with TLS on 127.0.0.1, standing in for the RDS Proxy's two endpoints.

pg_hba.conf has `hostssl` lines only, so a client without TLS is refused (as the proxy's
RequireTLS and the cluster's rds.force_ssl refuse it). Authentication is `trust`: PostgreSQL
cannot check an RDS IAM token, which the handler sends as its password; locally any password
is accepted for any role. TLS verification is therefore the only check that can fail here,
and what a role may do once signed in (its grants) is what the tests prove. The database is
owned by the `postgres` superuser, who stands for the RDS master user; the roles the health
check and the validator sign in as are the database roles bootstrap's to create. The reader
endpoint is the same server (`pg_is_in_recovery()` is false, unlike a real reader).

There is no Unix socket (unix_socket_directories is empty) and fsync is off: it is a
throwaway server in a temporary directory, removed at the end. The postmaster runs in the
foreground as this process's child (as root: as the `postgres` user, through setpriv, on a
directory that user owns), with a parent-death signal, so it cannot outlive the test run
even when that run is killed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from integration_tests.local.processes import as_child, free_port, run, wait_until
from integration_tests.local.tls import TlsFiles

_TIMEOUT_S = 20.0


# The Aurora PostgreSQL the stage runs is newer, but 15 is what this machine's packages give
# and what the project pins for local runs (`make postgres` installs it).
MAJOR_VERSION = 15
DEFAULT_BIN = Path(f"/usr/lib/postgresql/{MAJOR_VERSION}/bin")


def postgres_bin() -> Path:
    """PG_BIN if set, else PostgreSQL 15's binaries in Debian's layout."""
    path = Path(os.environ.get("PG_BIN") or DEFAULT_BIN)
    if not (path / "postgres").is_file():
        raise RuntimeError(
            f"PostgreSQL {MAJOR_VERSION} server binaries not found in {path}: run "
            "`make postgres` (Debian/Ubuntu, as root) or set PG_BIN"
        )
    return path


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *command]


class PostgresServer:
    def __init__(self, port: int, data_dir: Path, bin_dir: Path, tls: TlsFiles) -> None:
        self.port, self.data_dir, self.bin_dir, self.tls = port, data_dir, bin_dir, tls
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.data_dir.parent / "server.log").open("ab")
        with log:
            self._process = subprocess.Popen(
                as_child(_as_postgres([str(self.bin_dir / "postgres"), "-D", str(self.data_dir)])),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        process = self._process
        wait_until(lambda: self._ready() or process.poll() is not None, "postgres", _TIMEOUT_S)
        if process.poll() is not None:
            raise RuntimeError(
                f"postgres exited: {(self.data_dir.parent / 'server.log').read_text()}"
            )

    def _ready(self) -> bool:
        # Line 8 of postmaster.pid is the postmaster's status, what `pg_ctl -w` waits for.
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def stop(self) -> None:
        """Fast shutdown (SIGINT): clients are disconnected, as when a database fails."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=_TIMEOUT_S)
        self._process = None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def dsn(
        self, *, user: str = "postgres", database: str = "postgres", sslmode: str = "verify-full"
    ) -> str:
        """A client's connection string over TCP, verifying the server against the local CA."""
        return (
            f"host=127.0.0.1 port={self.port} user={user} dbname={database} "
            f"sslmode={sslmode} sslrootcert={self.tls.ca_cert} connect_timeout=5"
        )

    def psql(
        self,
        sql: str,
        *,
        sslmode: str = "verify-full",
        user: str = "postgres",
        database: str = "postgres",
    ) -> str:
        """Run SQL as a client over TCP (unaligned, tuples only: one row a line)."""
        dsn = self.dsn(user=user, database=database, sslmode=sslmode)
        return run([*self._psql(), "-A", "-t", dsn, "-c", sql], "psql")

    def _psql(self) -> list[str]:
        return [str(self.bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]

    def dump(self, database: str, table: str | None) -> tuple[str, str]:
        """The roles (without passwords) and one table (definition, rows, owner, grants; ""
        for None), as SQL: what a restore of this server's data as of now needs."""
        roles = run(
            [
                str(self.bin_dir / "pg_dumpall"),
                "--roles-only",
                "--no-role-passwords",
                "-d",
                self.dsn(),
            ],
            "pg_dumpall",
        )
        if table is None:
            return roles, ""
        table_sql = run(
            [str(self.bin_dir / "pg_dump"), "--table", table, "-d", self.dsn(database=database)],
            "pg_dump",
        )
        return roles, table_sql

    def load(self, sql: str, *, database: str = "postgres") -> None:
        """Run a script (a dump, with its COPY data and psql commands) as the superuser,
        stopping at its first error."""
        with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
            script.write(sql)
            script.flush()
            run(
                [*self._psql(), "-d", self.dsn(database=database), "-f", script.name], "psql (load)"
            )


@contextmanager
def postgres_server(tls: TlsFiles, database: str, parent: Path) -> Iterator[PostgresServer]:
    """A started server with `database` (owned by `postgres`), in a new directory under
    `parent`; stopped and removed on exit."""
    with bare_server(tls, parent) as server:
        server.psql(f'CREATE DATABASE "{database}"')
        yield server


@contextmanager
def bare_server(tls: TlsFiles, parent: Path) -> Iterator[PostgresServer]:
    """A started server holding only what initdb makes (a restored cluster is filled from a
    recovery point's dump); stopped and removed on exit."""
    bin_dir = postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="postgres-", dir=parent))
    try:
        if os.geteuid() == 0:
            parent.chmod(0o711)  # the server's user may pass through, not list
            shutil.chown(root, "postgres", "postgres")
        server = PostgresServer(free_port(), root / "data", bin_dir, tls)
        _init(server, root)
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


_TEMPLATE_DIR = "initdb-template"
_template_lock = threading.Lock()


def _template(bin_dir: Path, parent: Path) -> Path:
    """What initdb makes, made once per `parent` (a local stage's directory, removed with
    it) and copied for each server: a restore test starts a cluster per recovery point, and
    initdb costs about ten times the copy."""
    template = parent / _TEMPLATE_DIR
    with _template_lock:
        if not (template / "PG_VERSION").is_file():
            shutil.rmtree(template, ignore_errors=True)  # an earlier initdb that failed
            template.mkdir(mode=0o700)
            if os.geteuid() == 0:
                shutil.chown(template, "postgres", "postgres")
            run(
                _as_postgres(
                    [
                        str(bin_dir / "initdb"),
                        *("-D", str(template), "-U", "postgres", "--auth=trust", "--no-sync"),
                        *("--no-instructions", "--encoding=UTF8", "--locale=C"),
                        "--wal-segsize=1",  # MB, not 16: less to copy per server
                    ]
                ),
                "initdb",
            )
    return template


def _init(server: PostgresServer, root: Path) -> None:
    template = _template(server.bin_dir, root.parent)
    # -a keeps the owner (the server's user) and the private modes the server insists on.
    run(["cp", "-a", str(template), str(server.data_dir)], "cp (initdb template)")
    # The server reads its key only if the key is private to the server's user.
    cert, key = root / "server.crt", root / "server.key"
    shutil.copyfile(server.tls.server_cert, cert)
    shutil.copyfile(server.tls.server_key, key)
    key.chmod(0o600)
    if os.geteuid() == 0:
        for path in (cert, key):
            shutil.chown(path, "postgres", "postgres")
    with (server.data_dir / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1'\nport = {server.port}\n"
            "unix_socket_directories = ''\n"
            f"ssl = on\nssl_cert_file = '{cert}'\nssl_key_file = '{key}'\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        )
    (server.data_dir / "pg_hba.conf").write_text(
        "# TLS only: a client without TLS matches no line and is refused.\n"
        "# trust: PostgreSQL cannot verify the RDS IAM token the handler sends as password.\n"
        "hostssl all all 127.0.0.1/32 trust\n"
    )
