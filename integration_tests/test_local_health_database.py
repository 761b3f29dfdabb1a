"""Local only: the health check against a hostile PostgreSQL. A lock that blocks the canary's
upsert, a session ended by the server, a canary table whose column types changed, dropped or
emptied, a database that refuses writes, a canary from the future: each is reported on the
database components with the server's own reason (or, for a dropped table, what creates it),
and nothing the check started outlives its report on the server."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest

from integration_tests.local import database_faults as db
from integration_tests.local.functions import Run, functions, invoke
from integration_tests.local.harness import LocalStage
from integration_tests.local.processes import wait_until
from integration_tests.local.standby import Standby, standby
from integration_tests.standin import FunctionConfig

DATABASE = ("database_reader", "database_writer")
# A check blocked on the server reports before the client's own 5 s read timeout could end
# it: the server ended it (lock and statement timeouts of 1 s and 2 s), with room for the
# connection on a loaded machine (make test runs two chains at once).
STATEMENT_BOUND_MS = 5000
CANARY_ROW = "SELECT written_at FROM dr_canary WHERE id = 'health-check'"
LOCK_CANARY_ROW = "SELECT 1 FROM dr_canary WHERE id = 'health-check' FOR UPDATE"

Register = Callable[..., FunctionConfig]


@pytest.fixture(scope="module")
def lambda_client(local_stage: LocalStage) -> Any:
    return local_stage.lambda_client()


@pytest.fixture
def register(local_stage: LocalStage) -> Iterator[Register]:
    with functions(local_stage) as register:
        yield register


@pytest.fixture
def function(register: Register) -> FunctionConfig:
    return register("database")


class Database:
    """The function's database as the `postgres` superuser sees it."""

    def __init__(self, stage: LocalStage) -> None:
        self.server = stage.postgres
        self.name = stage.function.environment["DB_NAME"]
        self.user = stage.function.environment["DB_USER"]

    def sql(self, statement: str) -> str:
        return db.sql(self.server, self.name, statement)

    def alter(self, change: str) -> None:
        """ALTER DATABASE, from another database (this one may refuse writes)."""
        db.sql(self.server, "postgres", f"ALTER DATABASE {self.name} {change}")


@pytest.fixture
def database(local_stage: LocalStage, lambda_client: Any) -> Iterator[Database]:
    """The function's database with a canary row; any fault a test leaves is repaired after:
    the table is dropped, and the roles bootstrap creates it again (the health check cannot)."""
    found = Database(local_stage)
    assert invoke(local_stage, local_stage.function, lambda_client).result.problems() == []
    try:
        yield found
    finally:
        found.alter("RESET default_transaction_read_only")
        found.sql("DROP TABLE IF EXISTS dr_canary")
        bootstrap = local_stage.run_bootstrap()
        assert bootstrap.function_error is None, bootstrap.message
        after = invoke(local_stage, local_stage.function, lambda_client)
        assert after.result.problems() == [], "the stage did not recover"


def run(stage: LocalStage, function: FunctionConfig, client: Any) -> Run:
    return invoke(stage, function, client)


def test_a_statement_blocked_by_a_lock_is_ended_by_the_server_before_the_report(
    local_stage: LocalStage, lambda_client: Any, function: FunctionConfig, database: Database
) -> None:
    """Another session holds the canary row. The upsert is cancelled by the server (lock
    timeout), not abandoned by the client while it waits on: no backend is left behind, run
    after run, and no canary commits after the report when the lock goes."""
    before = database.sql(CANARY_ROW)
    with db.held(database.server, database.name, LOCK_CANARY_ROW):
        for _ in range(2):  # one backend per run would pile up
            blocked = run(local_stage, function, lambda_client)
            writer = blocked.components["database_writer"]
            assert (writer["healthy"], writer["error"]) == (False, "DatabaseError"), writer
            assert writer["message"] == "55P03 canceling statement due to lock timeout"
            assert writer["latency_ms"] < STATEMENT_BOUND_MS
            assert blocked.unhealthy() == {"database_writer"}  # reads are not blocked
            db.wait_for_backends(database.server, database.user, 0, timeout=3)
    db.settle(1.0)
    assert database.sql(CANARY_ROW) == before  # nothing committed after the report


def test_a_frozen_environment_leaves_no_session_on_the_server(
    local_stage: LocalStage, lambda_client: Any, function: FunctionConfig, database: Database
) -> None:
    """Lambda freezes an environment between invocations, with whatever connection a check
    past its deadline still holds. Played by stopping the worker (SIGSTOP) while its upsert
    waits on a lock: the server cancels the statement, then ends the idle session, without
    hearing from the client again."""
    run(local_stage, function, lambda_client)  # a warm worker to freeze
    worker = local_stage.standin.function_timings(function.name).worker_pid
    assert worker is not None
    with db.held(database.server, database.name, LOCK_CANARY_ROW):
        pending = ThreadPoolExecutor(max_workers=1)
        frozen = pending.submit(run, local_stage, function, lambda_client)
        blocked = f"{db.waiting_on_locks(database.user)} > 0"
        db.wait_until_sql(database.server, blocked, "the upsert waiting on the lock")
        os.kill(worker, signal.SIGSTOP)
        try:
            db.wait_for_backends(database.server, database.user, 0, timeout=10)
        finally:
            os.kill(worker, signal.SIGCONT)
        thawed = frozen.result(timeout=60)
        pending.shutdown()
    assert "database_writer" in thawed.unhealthy()


def test_a_session_ended_by_the_server_says_why(
    local_stage: LocalStage, lambda_client: Any, function: FunctionConfig, database: Database
) -> None:
    """pg_terminate_backend (an operator, a failover) while the upsert waits: the server says
    FATAL 57P01 and closes the socket; the report says that, not just "network error"."""
    with db.held(database.server, database.name, LOCK_CANARY_ROW):
        terminator = db.terminate_when_blocked(database.server, database.user)
        terminated = run(local_stage, function, lambda_client)
        terminator.wait(timeout=10)
        assert terminator.returncode == 0, db.stderr(terminator)
    writer = terminated.components["database_writer"]
    assert (writer["healthy"], writer["error"]) == (False, "DatabaseError"), writer
    assert writer["message"] == "57P01 terminating connection due to administrator command"


@pytest.mark.parametrize("column_type", ["date", "timestamp without time zone"])
def test_a_canary_column_of_another_type_is_unhealthy(
    local_stage: LocalStage,
    lambda_client: Any,
    function: FunctionConfig,
    database: Database,
    column_type: str,
) -> None:
    """A date loses the time of day, a timestamp without zone the zone: the canary would no
    longer tell a restore when data was last written, though every statement still works."""
    database.sql(f"ALTER TABLE dr_canary ALTER COLUMN written_at TYPE {column_type}")
    changed = run(local_stage, function, lambda_client)
    assert changed.unhealthy() == set(DATABASE)
    for name in DATABASE:
        component = changed.components[name]
        assert component["error"] == "CanarySchemaError"
        assert component["message"] == (
            f"dr_canary.written_at is {column_type}, not timestamp with time zone "
            "as the restore validator reads it"
        )


def test_a_missing_canary_table_is_unhealthy_until_the_bootstrap_creates_it(
    local_stage: LocalStage, lambda_client: Any, function: FunctionConfig, database: Database
) -> None:
    """A restored copy from before the bootstrap existed, or a dropped table: the health
    check's role may not create it, so both checks say what is missing and what creates it,
    and the health check sends no CREATE (the table stays missing)."""
    database.sql("DROP TABLE dr_canary")
    missing = run(local_stage, function, lambda_client)
    assert missing.unhealthy() == set(DATABASE)
    for name in DATABASE:
        component = missing.components[name]
        assert (component["error"], component["message"]) == (
            "CanarySchemaError",
            "dr_canary does not exist: the Data stack's database roles bootstrap creates it "
            "(Custom::DatabaseRoles)",
        )
    assert database.sql("SELECT to_regclass('dr_canary') IS NULL") == "t"
    assert local_stage.run_bootstrap().function_error is None
    recreated = run(local_stage, function, lambda_client)
    assert recreated.result.problems() == []
    assert database.sql(CANARY_ROW) != ""


def test_a_deleted_canary_row_is_written_again(
    local_stage: LocalStage, lambda_client: Any, function: FunctionConfig, database: Database
) -> None:
    database.sql("DELETE FROM dr_canary")
    rewritten = run(local_stage, function, lambda_client)
    assert rewritten.result.problems() == []
    assert database.sql("SELECT count(*) FROM dr_canary") == "1"


def test_a_database_that_refuses_writes_fails_the_writer_with_the_servers_reason(
    local_stage: LocalStage, lambda_client: Any, function: FunctionConfig, database: Database
) -> None:
    """What a replica behind the writer endpoint, or a read-only switch, looks like to a client:
    the writer is unhealthy with SQLSTATE and message (not the driver's dict); reads go on."""
    database.alter("SET default_transaction_read_only = on")
    refused = run(local_stage, function, lambda_client)
    assert refused.unhealthy() == {"database_writer"}
    writer = refused.components["database_writer"]
    assert writer["error"] == "DatabaseError"
    assert writer["message"] == "25006 cannot execute INSERT in a read-only transaction"


@pytest.fixture(scope="module")
def replica(local_stage: LocalStage) -> Iterator[Standby]:
    with standby(local_stage.postgres, local_stage.workdir) as found:
        yield found


def test_the_writer_endpoint_on_a_replica_is_unhealthy_and_the_reader_there_healthy(
    local_stage: LocalStage,
    lambda_client: Any,
    register: Register,
    database: Database,
    replica: Standby,
) -> None:
    """Both endpoints on a streaming replica (they share the port here): a writer endpoint
    that reaches a replica (a failover in progress, a wrong endpoint) is unhealthy before any
    write is tried; the reader reads the replicated canary and says it is on a replica."""
    newest = database.sql(CANARY_ROW)

    def replicated() -> bool:
        try:
            return db.sql(replica.server, database.name, CANARY_ROW) == newest
        except RuntimeError:  # the table not replayed yet
            return False

    wait_until(replicated, "the canary replicated")
    on_replica = run(local_stage, register("replica", DB_PORT=str(replica.port)), lambda_client)
    assert on_replica.unhealthy() == {"database_writer"}
    writer = on_replica.components["database_writer"]
    assert (writer["error"], writer["message"]) == (
        "ReplicaError",
        "the writer endpoint reached a server in recovery (a replica)",
    )
    reader = on_replica.components["database_reader"]
    assert reader["replica"] is True
    assert datetime.fromisoformat(reader["canary"]) == datetime.fromisoformat(newest)


def test_a_canary_from_the_future_is_unhealthy_in_every_store(
    local_stage: LocalStage, lambda_client: Any, function: FunctionConfig, database: Database
) -> None:
    """A canary a day ahead (a skewed clock, a planted value) would keep every later write
    out, since canaries only move forward, and tell a restore that data survived that was
    never written."""
    tomorrow = "2099-01-01T00:00:00.000+00:00"
    moto = local_stage.moto
    table_key = {"id": {"S": "health-check#canary"}}
    moto.client("dynamodb").put_item(
        TableName=moto.table_name, Item={**table_key, "written_at": {"S": tomorrow}}
    )
    s3 = moto.client("s3")
    s3.put_object(
        Bucket=moto.bucket_name,
        Key="health-check/canary.json",
        Body=f'{{"written_at": "{tomorrow}"}}'.encode(),
    )
    database.sql(f"UPDATE dr_canary SET written_at = '{tomorrow}'")
    try:
        future = run(local_stage, function, lambda_client)
    finally:
        moto.client("dynamodb").delete_item(TableName=moto.table_name, Key=table_key)
        s3.delete_object(Bucket=moto.bucket_name, Key="health-check/canary.json")
    assert future.unhealthy() == {"dynamodb", "s3", *DATABASE}
    for name, component in future.components.items():
        assert component["error"] == "CanaryMismatchError", name
        assert "more than 60 s ahead" in component["message"], name


def test_overlapping_runs_against_one_database_are_healthy(
    local_stage: LocalStage, lambda_client: Any, register: Register, database: Database
) -> None:
    """Several runs' upserts on one row: each waits its turn on the row lock and reads back
    its own canary or a newer one."""
    runs = [register(f"parallel-{index}") for index in range(3)]
    for function in runs:
        run(local_stage, function, lambda_client)  # warm
    start = threading.Barrier(len(runs), timeout=10)

    def together(function: FunctionConfig) -> Run:
        start.wait()
        return run(local_stage, function, lambda_client)

    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        results = list(pool.map(together, runs, timeout=60))
    for result in results:
        for name in DATABASE:
            assert result.components[name]["healthy"], result.components[name]
