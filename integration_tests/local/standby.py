"""A streaming replica of the local PostgreSQL: what the RDS Proxy's read-only endpoint reaches
in AWS (an Aurora reader, `pg_is_in_recovery()` true), and what a writer endpoint reaches when
it points at the wrong instance.

Made with pg_basebackup (-R: it starts as a standby of the primary; -c fast: a checkpoint now,
not one spread over minutes) into a directory the
server's user owns, listening on its own port with the primary's TLS certificate. The primary
admits replication connections (hostssl, as `postgres`) only while the standby exists.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from integration_tests.local import database_faults as db
from integration_tests.local.postgres import PostgresServer
from integration_tests.local.processes import as_child, free_port, run, wait_until

_REPLICATION = "hostssl replication postgres 127.0.0.1/32 trust\n"
_TIMEOUT_S = 30.0


def _as_server_user(command: list[str]) -> list[str]:
    # initdb, pg_basebackup's files and postgres itself: the `postgres` user when run as root.
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *command]


@dataclass(frozen=True)
class Standby:
    server: PostgresServer  # its port, binaries and TLS files, for psql

    @property
    def port(self) -> int:
        return self.server.port


@contextmanager
def standby(primary: PostgresServer, parent: Path) -> Iterator[Standby]:
    hba = primary.data_dir / "pg_hba.conf"
    original = hba.read_text()
    root = Path(tempfile.mkdtemp(prefix="standby-", dir=parent))
    process: subprocess.Popen[bytes] | None = None
    try:
        hba.write_text(original + _REPLICATION)
        db.sql(primary, "postgres", "SELECT pg_reload_conf()")
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        data = root / "data"
        # No client certificate: named explicitly, or libpq looks in ~/.postgresql, which as
        # root is /root's and unreadable to the server's user (the standby's own connection
        # to the primary reuses these settings).
        none = root / "no-client-certificate"
        source = (
            f"host=127.0.0.1 port={primary.port} user=postgres "
            f"sslmode=verify-full sslrootcert={primary.tls.ca_cert} sslcert={none} sslkey={none}"
        )
        backup = [str(primary.bin_dir / "pg_basebackup"), "-D", str(data), "-R", "-c", "fast"]
        run(_as_server_user([*backup, "-d", source]), "pg_basebackup")
        port = free_port()
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {port}\n")
        server = PostgresServer(port, data, primary.bin_dir, primary.tls)
        with (root / "server.log").open("ab") as log:
            process = subprocess.Popen(
                as_child(_as_server_user([str(primary.bin_dir / "postgres"), "-D", str(data)])),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(
            lambda: process is not None and (process.poll() is not None or _in_recovery(server)),
            "the standby",
            _TIMEOUT_S,
        )
        if process.poll() is not None:
            raise RuntimeError(f"the standby exited: {(root / 'server.log').read_text()}")
        yield Standby(server)
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=_TIMEOUT_S)
        hba.write_text(original)
        db.sql(primary, "postgres", "SELECT pg_reload_conf()")
        shutil.rmtree(root, ignore_errors=True)


def _in_recovery(server: PostgresServer) -> bool:
    try:
        return db.sql(server, "postgres", "SELECT pg_is_in_recovery()") == "t"
    except RuntimeError:  # not accepting connections yet
        return False
