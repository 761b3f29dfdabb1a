"""Local only: the database roles bootstrap, the synthesized asset invoked through the stand-in
as CDK's provider framework invokes it, against the local PostgreSQL as its superuser (standing
for the RDS master user, whose credentials it reads from moto's Secrets Manager). The harness
already ran it once, as CloudFormation's Create, before any health check.

It is idempotent and puts back what drifted; the roles it creates can do what they are for and
nothing else (locally every role may sign in, `trust`: what is proven is what each may do once
in); the health check signs in as dr_health; and a failure is one line naming the step, never
the password, also when the server repeats it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from integration_tests.health import invoke_health_check
from integration_tests.local import database_faults as db
from integration_tests.local.assembly import read_stage
from integration_tests.local.echoing import echoing_postgres
from integration_tests.local.harness import BOOTSTRAP_NAME, LocalStage
from integration_tests.local.moto import BOOTSTRAP_USER

HEALTH, VALIDATOR = "dr_health", "dr_validator"
# What the roles are and may do, and the canary table, as the superuser reads the catalogs.
STATE = """
SELECT json_build_object(
  'roles', (SELECT json_agg(json_build_object(
      'name', rolname, 'login', rolcanlogin, 'superuser', rolsuper,
      'createdb', rolcreatedb, 'createrole', rolcreaterole, 'password', rolpassword IS NOT NULL
    ) ORDER BY rolname) FROM pg_authid WHERE rolname IN ('dr_health', 'dr_validator')),
  'memberships', (SELECT json_agg(g.rolname || ' in ' || r.rolname ORDER BY g.rolname)
    FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles g ON g.oid = m.member
    WHERE g.rolname IN ('dr_health', 'dr_validator')),
  'privileges', (SELECT json_object_agg(role || ' ' || privilege,
      has_table_privilege(role, 'public.dr_canary', privilege) ORDER BY role, privilege)
    FROM unnest(ARRAY['dr_health', 'dr_validator', 'public']) AS role,
      unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',
        'TRIGGER']) AS privilege),
  'create_in_public', has_schema_privilege('public', 'public', 'CREATE'),
  'temporary', has_database_privilege('public', current_database(), 'TEMPORARY'),
  'owner', (SELECT pg_get_userbyid(relowner) FROM pg_class
    WHERE oid = 'public.dr_canary'::regclass),
  'columns', (SELECT json_agg(attname || ' ' || format_type(atttypid, atttypmod)
      || CASE WHEN attnotnull THEN ' not null' ELSE '' END ORDER BY attnum)
    FROM pg_attribute WHERE attrelid = 'public.dr_canary'::regclass AND attnum > 0
      AND NOT attisdropped),
  'canary', (SELECT json_agg(written_at ORDER BY id) FROM dr_canary)
)
"""


@pytest.fixture(scope="module")
def lambda_client(local_stage: LocalStage) -> Any:
    return local_stage.lambda_client()


class Database:
    def __init__(self, stage: LocalStage) -> None:
        self.server, self.name = stage.postgres, stage.function.environment["DB_NAME"]

    def sql(self, statement: str, user: str = "postgres") -> str:
        return db.sql(self.server, self.name, statement, user)

    def state(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.sql(STATE))
        return found


@pytest.fixture
def database(local_stage: LocalStage, lambda_client: Any) -> Iterator[Database]:
    """The function's database, with a canary the health check wrote; the bootstrap runs
    again after each test, so a test's drift does not reach the next."""
    assert invoke_health_check(lambda_client, local_stage.function.name).problems() == []
    yield Database(local_stage)
    assert local_stage.run_bootstrap().function_error is None


def expected_state(canary: Any) -> dict[str, Any]:
    role = {"login": True, "superuser": False, "createdb": False, "createrole": False}
    granted = {HEALTH: {"SELECT", "INSERT", "UPDATE"}, VALIDATOR: {"SELECT"}, "public": set()}
    return {
        "roles": [
            {"name": HEALTH, **role, "password": False},
            {"name": VALIDATOR, **role, "password": False},
        ],
        "memberships": [f"{HEALTH} in rds_iam", f"{VALIDATOR} in rds_iam"],
        "privileges": {
            f"{who} {privilege}": privilege in granted[who]
            for who in granted
            for privilege in (
                "SELECT",
                "INSERT",
                "UPDATE",
                "DELETE",
                "TRUNCATE",
                "REFERENCES",
                "TRIGGER",
            )
        },
        "create_in_public": False,
        "temporary": False,
        "owner": "postgres",  # the master user
        "columns": ["id text not null", "written_at timestamp with time zone not null"],
        "canary": canary,
    }


def test_the_bootstrap_made_the_roles_and_the_table_and_is_idempotent(
    local_stage: LocalStage, database: Database
) -> None:
    before = database.state()
    assert before == expected_state(before["canary"])
    assert before["canary"] is not None  # the health check's, kept
    for _ in range(2):
        again = local_stage.run_bootstrap("Update")
        assert (again.function_error, again.payload) == (
            None,
            {"Data": {"HealthUser": HEALTH, "ValidatorUser": VALIDATOR}},
        )
        assert database.state() == before


def test_a_re_run_puts_back_whatever_drifted(local_stage: LocalStage, database: Database) -> None:
    before = database.state()
    database.sql(
        "REVOKE rds_iam FROM dr_health; "
        "GRANT DELETE, TRUNCATE ON dr_canary TO dr_health; "
        "REVOKE UPDATE ON dr_canary FROM dr_health; "
        "GRANT INSERT ON dr_canary TO dr_validator; "
        "GRANT SELECT ON dr_canary TO PUBLIC; "
        "ALTER ROLE dr_validator NOLOGIN CREATEDB PASSWORD 'drifted'; "
        "GRANT CREATE ON SCHEMA public TO PUBLIC; "
        "GRANT TEMPORARY ON DATABASE dr TO PUBLIC; "
        "ALTER TABLE dr_canary ALTER COLUMN written_at DROP NOT NULL"
    )
    assert database.state() != before
    assert local_stage.run_bootstrap().function_error is None
    assert database.state() == before


def test_dr_health_may_upsert_the_canary_and_do_nothing_else(database: Database) -> None:
    database.sql("CREATE TABLE dr_other (secret text); INSERT INTO dr_other VALUES ('x')")
    try:
        upsert = (
            "INSERT INTO dr_canary VALUES ('health-check', now()) ON CONFLICT (id) "
            "DO UPDATE SET written_at = EXCLUDED.written_at RETURNING id"
        )
        assert database.sql(upsert, HEALTH) == "health-check"
        assert database.sql("SELECT count(*) FROM dr_canary", HEALTH) == "1"
        refused = {
            "CREATE TABLE mine (x int)": "permission denied for schema public",
            "CREATE TEMPORARY TABLE mine (x int)": "permission denied to create temporary tables",
            "SELECT * FROM dr_other": "permission denied for table dr_other",
            "DELETE FROM dr_canary": "permission denied for table dr_canary",
            "TRUNCATE dr_canary": "permission denied for table dr_canary",
            "DROP TABLE dr_canary": "must be owner of table dr_canary",
            "CREATE ROLE intruder": "permission denied to create role",
        }
        for statement, reason in refused.items():
            with pytest.raises(RuntimeError, match=reason):
                database.sql(statement, HEALTH)
    finally:
        database.sql("DROP TABLE dr_other")


def test_dr_validator_may_read_the_canary_and_nothing_else(database: Database) -> None:
    assert database.sql("SELECT id FROM dr_canary", VALIDATOR) == "health-check"
    refused = {
        "INSERT INTO dr_canary VALUES ('x', now())": "permission denied for table dr_canary",
        "UPDATE dr_canary SET written_at = now()": "permission denied for table dr_canary",
        "DELETE FROM dr_canary": "permission denied for table dr_canary",
        "CREATE TABLE mine (x int)": "permission denied for schema public",
        "CREATE TEMPORARY TABLE mine (x int)": "permission denied to create temporary tables",
    }
    for statement, reason in refused.items():
        with pytest.raises(RuntimeError, match=reason):
            database.sql(statement, VALIDATOR)


def test_the_health_check_signs_in_as_dr_health(
    local_stage: LocalStage, lambda_client: Any, database: Database
) -> None:
    """Take one grant from dr_health alone: the health check's upsert is refused (a superuser
    or the master user would not be), its reads go on; the bootstrap puts the grant back."""
    assert local_stage.function.environment["DB_USER"] == HEALTH  # the template's literal
    database.sql("REVOKE UPDATE ON dr_canary FROM dr_health")
    refused = invoke_health_check(lambda_client, local_stage.function.name)
    writer = refused.payload["components"]["database_writer"]
    assert (writer["healthy"], writer["error"], writer["message"]) == (
        False,
        "DatabaseError",
        "42501 permission denied for table dr_canary",
    )
    assert refused.payload["components"]["database_reader"]["healthy"] is True
    assert local_stage.run_bootstrap().function_error is None
    assert invoke_health_check(lambda_client, local_stage.function.name).problems() == []


def test_delete_leaves_the_roles_and_the_data_and_connects_to_nothing(
    local_stage: LocalStage, database: Database
) -> None:
    before = database.state()
    # Where no server and no secret is: Delete must not need them (a stack being torn down).
    deleted = local_stage.run_bootstrap(
        "Delete", Host="192.0.2.1", SecretArn=local_stage.bootstrap_properties["SecretArn"] + "x"
    )
    assert (deleted.function_error, deleted.payload) == (None, {})
    assert database.state() == before


def test_the_rds_cas_do_not_verify_another_server_the_bootstrap_fails_closed(
    local_stage: LocalStage, database: Database
) -> None:
    """As shipped (DB_CA_BUNDLE: the Amazon RDS CAs in the bundle), it refuses the local
    server's certificate: it trusts those CAs only, not the system's store."""
    shipped = read_stage().bootstrap.function.environment["DB_CA_BUNDLE"]
    assert shipped == "rds-ca-bundle.pem"
    variant = local_stage.register_bootstrap(f"{BOOTSTRAP_NAME}-rds-cas", DB_CA_BUNDLE=shipped)
    try:
        failed = local_stage.run_bootstrap(function=variant)
    finally:
        local_stage.standin.stop_worker(variant.name)
    assert failed.function_error == "Unhandled"
    assert failed.payload["errorType"] == "BootstrapError"
    port = local_stage.postgres.port
    assert failed.message.startswith(f"signing in to 127.0.0.1:{port}/dr as postgres: ")
    assert "CERTIFICATE_VERIFY_FAILED" in failed.message
    assert "\n" not in failed.message


def test_a_failure_is_one_line_without_the_password_even_when_the_server_repeats_it(
    local_stage: LocalStage, database: Database
) -> None:
    password = local_stage.moto.master_secret()["password"]
    with echoing_postgres(local_stage.tls) as port:
        failed = local_stage.run_bootstrap(Port=str(port))
    assert failed.function_error == "Unhandled"
    assert failed.message.startswith(
        f"signing in to 127.0.0.1:{port}/dr as postgres: DatabaseError: 28P01 password "
        "authentication failed for user postgres: postgresql://postgres:<redacted>@"
    ), failed.message
    assert password not in failed.message and "\n" not in failed.message
    assert password not in local_stage.bootstrap.log_file.read_text()


def test_a_secret_it_may_not_read_fails_the_bootstrap_in_one_line(
    local_stage: LocalStage, database: Database
) -> None:
    with local_stage.moto.denied(["secretsmanager:GetSecretValue"], user=BOOTSTRAP_USER):
        failed = local_stage.run_bootstrap()
    assert failed.function_error == "Unhandled"
    assert failed.message.startswith("reading the master secret: ClientError: "), failed.message
    assert "GetSecretValue" in failed.message and "\n" not in failed.message
