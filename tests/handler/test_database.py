"""The database checks without a database: what they send and what they make of the answers.
The health check's role may not create dr_canary (the roles bootstrap does), so a missing table
is reported on both checks, and nothing but reads and the upsert is ever sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from dr_health import database
from dr_health.canary import CanarySchemaError

CONTRACT_TYPES = ("text", "timestamp with time zone")


class FakeConnection:
    """Answers the probe (replica or not, the table there or not), the upsert and the read."""

    def __init__(self, *, table: bool, in_recovery: bool = False) -> None:
        self.table, self.in_recovery = table, in_recovery
        self.sent: list[str] = []
        self.closed = False
        self.now = datetime.now(UTC)

    def run(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        self.sent.append(sql)
        if sql == database._PROBE:
            types = CONTRACT_TYPES if self.table else (None, None)
            return [(self.in_recovery, self.table, *types)]
        if sql == database._UPSERT:
            return [(self.now, self.now)]
        if sql == database._NEWEST:
            return [(self.now, self.now)]
        raise AssertionError(f"unexpected statement: {sql}")

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def connection(monkeypatch: pytest.MonkeyPatch) -> FakeConnection:
    fake = FakeConnection(table=False)
    monkeypatch.setattr(database, "_connect", lambda host: fake)
    monkeypatch.setenv("DB_ENDPOINT", "writer.example")
    monkeypatch.setenv("DB_READER_ENDPOINT", "reader.example")
    return fake


@pytest.mark.parametrize("check", [database.check_writer, database.check_reader])
def test_a_missing_canary_table_is_unhealthy_and_not_created(
    connection: FakeConnection, check: Any
) -> None:
    with pytest.raises(CanarySchemaError) as raised:
        check()
    assert str(raised.value) == (
        "dr_canary does not exist: the Data stack's database roles bootstrap creates it "
        "(Custom::DatabaseRoles)"
    )
    assert connection.sent == [database._PROBE]  # no CREATE, nor anything else
    assert connection.closed


def test_the_writer_upserts_when_the_table_is_there(connection: FakeConnection) -> None:
    connection.table = True
    assert database.check_writer() == {"canary": connection.now.isoformat()}
    assert connection.sent == [database._PROBE, database._UPSERT]


def test_the_reader_reads_when_the_table_is_there(connection: FakeConnection) -> None:
    connection.table = True
    assert database.check_reader() == {"replica": False, "canary": connection.now.isoformat()}
    assert connection.sent == [database._PROBE, database._NEWEST]
