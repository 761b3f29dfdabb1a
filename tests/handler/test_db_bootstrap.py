"""The database roles bootstrap without a database or AWS: what it accepts, the SQL it sends,
and what CloudFormation would show when it fails (one line, never the password). Its SQL runs
against a real PostgreSQL in integration_tests/test_local_database_roles.py."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import boto3
import db_bootstrap
import pytest
from db_bootstrap import BootstrapError, Settings

from tests.handler.support import database_error

PASSWORD = "pa55 word'with\nnewline"
TEMPLATE = db_bootstrap.SQL_FILE.read_bytes()
PROPERTIES = {
    "ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:framework",
    "Host": "cluster.example",
    "Port": "5432",
    "Database": "dr",
    "SecretArn": "arn:aws:secretsmanager:us-east-1:111111111111:secret:master",
    "HealthUser": "dr_health",
    "ValidatorUser": "dr_validator",
    "SqlSha256": hashlib.sha256(TEMPLATE).hexdigest(),
}


def event(request: str = "Create", **properties: str) -> dict[str, Any]:
    return {"RequestType": request, "ResourceProperties": {**PROPERTIES, **properties}}


class FakeConnection:
    def __init__(self, error: Exception | None = None) -> None:
        self.error, self.closed = error, False
        self.sent: list[str] = []

    def run(self, sql: str) -> list[Any]:
        self.sent.append(sql)
        if self.error:
            raise self.error
        return []

    def close(self) -> None:
        self.closed = True


class Calls:
    """The bootstrap's two ways out (Secrets Manager, the database), played in process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.secrets: list[str] = []
        self.connections: list[tuple[Settings, str, str]] = []
        self.connection = FakeConnection()
        self.connect_error: Exception | None = None
        monkeypatch.setattr(db_bootstrap, "master_credentials", self._credentials)
        monkeypatch.setattr(db_bootstrap, "connect", self._connect)

    def _credentials(self, secret_arn: str) -> tuple[str, str]:
        self.secrets.append(secret_arn)
        return "dr_admin", PASSWORD

    def _connect(self, settings: Settings, user: str, password: str) -> FakeConnection:
        self.connections.append((settings, user, password))
        if self.connect_error:
            raise self.connect_error
        return self.connection


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    return Calls(monkeypatch)


def test_create_and_update_run_the_sql_as_the_master_user(calls: Calls) -> None:
    for request in ("Create", "Update"):
        result = db_bootstrap.handler(event(request), None)
        assert result == {"Data": {"HealthUser": "dr_health", "ValidatorUser": "dr_validator"}}
    assert calls.secrets == [PROPERTIES["SecretArn"]] * 2
    settings, user, password = calls.connections[0]
    assert (settings.host, settings.port, settings.database) == ("cluster.example", 5432, "dr")
    assert (user, password) == ("dr_admin", PASSWORD)
    assert calls.connection.sent == [db_bootstrap.render_sql(settings, TEMPLATE)] * 2
    assert calls.connection.closed


def test_delete_touches_neither_the_secret_nor_the_database(calls: Calls) -> None:
    assert db_bootstrap.handler({"RequestType": "Delete", "ResourceProperties": {}}, None) == {}
    assert (calls.secrets, calls.connections) == ([], [])


def test_the_sql_gets_the_role_names_and_no_placeholder_is_left() -> None:
    settings = Settings.from_properties(event()["ResourceProperties"])
    sql = db_bootstrap.render_sql(settings, TEMPLATE)
    assert "{" not in sql and "}" not in sql
    assert "CREATE ROLE dr_health LOGIN" in sql and "CREATE ROLE dr_validator LOGIN" in sql
    assert "GRANT SELECT, INSERT, UPDATE ON public.dr_canary TO dr_health" in sql
    assert "GRANT SELECT ON public.dr_canary TO dr_validator" in sql
    assert "GRANT rds_iam TO dr_health, dr_validator" in sql


def test_the_sql_needs_nothing_the_rds_master_user_lacks() -> None:
    """The RDS master user is not a superuser: only a superuser may name these attributes in
    CREATE or ALTER ROLE (locally the bootstrap runs as one, so only this test can tell)."""
    code = "\n".join(line.split("--")[0] for line in TEMPLATE.decode().splitlines())
    for attribute in ("SUPERUSER", "REPLICATION", "BYPASSRLS"):
        assert not re.search(rf"\b(NO)?{attribute}\b", code, re.IGNORECASE), attribute


def test_a_bundle_whose_sql_is_not_the_templates_is_refused(calls: Calls) -> None:
    with pytest.raises(BootstrapError, match=r"^checking roles\.sql: the bundled roles\.sql"):
        db_bootstrap.handler(event(SqlSha256="0" * 64), None)
    assert calls.connections == []


@pytest.mark.parametrize(
    "name",
    ["dr_health; DROP TABLE dr_canary", "Dr_Health", "pg_monitor", "rds_iam", "public", "", "1x"],
)
def test_a_role_name_that_is_not_a_plain_new_identifier_is_refused(calls: Calls, name: str) -> None:
    with pytest.raises(BootstrapError):
        db_bootstrap.handler(event(ValidatorUser=name), None)
    assert calls.secrets == []


def test_the_two_roles_must_differ(calls: Calls) -> None:
    with pytest.raises(BootstrapError, match="must be different roles"):
        db_bootstrap.handler(event(ValidatorUser="dr_health"), None)


def test_missing_properties_are_named(calls: Calls) -> None:
    request = {"RequestType": "Create", "ResourceProperties": {"Host": "h", "Port": "x"}}
    with pytest.raises(BootstrapError) as raised:
        db_bootstrap.handler(request, None)
    assert str(raised.value) == (
        "missing resource properties: Database, SecretArn, HealthUser, ValidatorUser, SqlSha256"
    )


def test_an_unknown_request_type_is_refused(calls: Calls) -> None:
    with pytest.raises(BootstrapError, match="unknown RequestType 'Replace'"):
        db_bootstrap.handler(event("Replace"), None)


def test_a_server_error_is_one_line_with_the_step_and_never_the_password(calls: Calls) -> None:
    calls.connect_error = database_error(
        "28P01", f"password authentication failed for user dr_admin:\n{PASSWORD}"
    )
    with pytest.raises(BootstrapError) as raised:
        db_bootstrap.handler(event(), None)
    message = str(raised.value)
    assert message == (
        "signing in to cluster.example:5432/dr as dr_admin: DatabaseError: 28P01 password "
        "authentication failed for user dr_admin: <redacted>"
    )
    # Not chained: the Lambda runtime's traceback holds no frame or text of the original.
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_failing_statement_is_reported_and_the_session_closed(calls: Calls) -> None:
    calls.connection = FakeConnection(database_error("55P03", "canceling statement due to lock"))
    with pytest.raises(BootstrapError, match=r"^running roles\.sql: DatabaseError: 55P03 cancel"):
        db_bootstrap.handler(event(), None)
    assert calls.connection.closed


def test_an_error_is_cut_to_a_bounded_length(calls: Calls) -> None:
    calls.connect_error = OSError("x" * 5000)
    with pytest.raises(BootstrapError) as raised:
        db_bootstrap.handler(event(), None)
    assert len(str(raised.value)) == db_bootstrap.MAX_MESSAGE


def test_a_secret_that_is_not_the_rds_format_is_reported_without_its_content(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Client:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803
            return {"SecretString": f"not json {PASSWORD}"}

    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: Client())
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with pytest.raises(BootstrapError) as raised:
        db_bootstrap.handler(event(), None)
    assert str(raised.value) == (
        "reading the master secret: the secret is not JSON with a username and a password"
    )
