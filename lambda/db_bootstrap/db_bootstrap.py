"""The database roles bootstrap: the onEvent handler of a CloudFormation custom resource (CDK's
provider framework invokes it, `db_bootstrap.handler`).

On Create and Update it reads the RDS-managed master secret (Secrets Manager, through the VPC's
interface endpoint), signs in to the cluster's writer directly as the master user, TLS
verified against the Amazon RDS CAs shipped in the bundle (DB_CA_BUNDLE, relative to this
file), and runs roles.sql: the least-privilege roles and the canary table, idempotently. On
Delete it does nothing: the roles and the data stay with the cluster (and its backups).

Resource properties: Host, Port, Database, SecretArn, HealthUser, ValidatorUser and SqlSha256
(roles.sql's sha256: the template changes with the SQL, so CloudFormation sends an Update
that runs it again; a bundle whose SQL is not that one is refused).

Every step is bounded (Secrets Manager: 5 s connect and read, two attempts; the database: 5 s
to connect, 20 s per read, statements 15 s and locks 5 s on the server), and a failure is
raised as one line saying which step failed and why, which CloudFormation shows as the
resource's status reason. Neither that line nor the log ever holds the password: it is
scrubbed from every message, and the original exception is not chained.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SQL_FILE = Path(__file__).with_name("roles.sql")
CONNECT_TIMEOUT_S = 5.0
# Above the statement timeout, so that a slow statement is reported with the server's reason.
READ_TIMEOUT_S = 20.0
SERVER_BOUNDS = {"statement_timeout": "15s", "lock_timeout": "5s"}
AWS_TIMEOUT_S = 5.0
MAX_MESSAGE = 500
REDACTED = "<redacted>"
APPLICATION_NAME = "dr-roles-bootstrap"
# Lower-case identifiers that need no quoting and cannot be a system or RDS role.
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_RESERVED = re.compile(r"pg_.*|rds.*|public|postgres")
_PROPERTIES = ("Host", "Port", "Database", "SecretArn", "HealthUser", "ValidatorUser", "SqlSha256")


class BootstrapError(Exception):
    """What failed, in one line without secrets: CloudFormation's status reason."""


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    database: str
    secret_arn: str
    health_user: str
    validator_user: str
    sql_sha256: str

    @classmethod
    def from_properties(cls, properties: dict[str, Any]) -> Settings:
        missing = [name for name in _PROPERTIES if not str(properties.get(name) or "")]
        if missing:
            raise BootstrapError(f"missing resource properties: {', '.join(missing)}")
        try:
            port = int(str(properties["Port"]))
        except ValueError:
            raise BootstrapError(f"Port {properties['Port']!r} is not a number") from None
        settings = cls(
            host=str(properties["Host"]),
            port=port,
            database=str(properties["Database"]),
            secret_arn=str(properties["SecretArn"]),
            health_user=str(properties["HealthUser"]),
            validator_user=str(properties["ValidatorUser"]),
            sql_sha256=str(properties["SqlSha256"]),
        )
        for user in (settings.health_user, settings.validator_user):
            if not _IDENTIFIER.fullmatch(user) or _RESERVED.fullmatch(user):
                raise BootstrapError(f"{user!r} is not a role name this bootstrap creates")
        if settings.health_user == settings.validator_user:
            raise BootstrapError("HealthUser and ValidatorUser must be different roles")
        return settings


def render_sql(settings: Settings, template: bytes) -> str:
    """roles.sql with the role names in, if it is the SQL the template names."""
    digest = hashlib.sha256(template).hexdigest()
    if digest != settings.sql_sha256:
        raise BootstrapError(
            f"the bundled roles.sql (sha256 {digest}) is not the one the template names "
            f"({settings.sql_sha256})"
        )
    return template.decode().format(
        health_user=settings.health_user, validator_user=settings.validator_user
    )


def one_line(message: str, secrets: list[str]) -> str:
    """`message` on one line, cut to length, without any of `secrets`."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, REDACTED)
    return " ".join(message.split())[:MAX_MESSAGE]


def describe(error: BaseException) -> str:
    """The error's class and text; a PostgreSQL error as its SQLSTATE and message."""
    fields = error.args[0] if len(error.args) == 1 else None
    if isinstance(fields, dict) and "C" in fields and "M" in fields:
        return f"{type(error).__name__}: {fields['C']} {fields['M']}"
    text = str(error) or "no detail"
    if isinstance(error.__cause__, OSError) and str(error.__cause__) not in text:
        text = f"{text} ({error.__cause__})"
    return f"{type(error).__name__}: {text}"


def master_credentials(secret_arn: str) -> tuple[str, str]:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "secretsmanager",
        region_name=os.environ["AWS_REGION"],
        config=Config(
            connect_timeout=AWS_TIMEOUT_S,
            read_timeout=AWS_TIMEOUT_S,
            retries={"max_attempts": 2, "mode": "standard"},
        ),
    )
    value = client.get_secret_value(SecretId=secret_arn).get("SecretString")
    try:
        document = json.loads(value or "")
        return str(document["username"]), str(document["password"])
    except (ValueError, TypeError, KeyError):
        # Not the parser's message: it could quote the secret.
        raise BootstrapError("the secret is not JSON with a username and a password") from None


def ca_bundle() -> Path:
    # Relative to the bundle (the RDS CAs shipped with it), unless given absolute.
    return Path(__file__).parent / os.environ["DB_CA_BUNDLE"]


def connect(settings: Settings, user: str, password: str) -> Any:
    import pg8000.native

    context = ssl.create_default_context(cafile=str(ca_bundle()))
    sock = socket.create_connection((settings.host, settings.port), timeout=CONNECT_TIMEOUT_S)
    sock.settimeout(READ_TIMEOUT_S)
    try:
        return pg8000.native.Connection(
            user,
            host=settings.host,  # the name the server's certificate must carry
            port=settings.port,
            database=settings.database,
            password=password,
            ssl_context=context,
            sock=sock,
            application_name=APPLICATION_NAME,
            startup_params=SERVER_BOUNDS,
        )
    except BaseException:
        sock.close()
        raise


def bootstrap(settings: Settings) -> None:
    """Reads the master secret, signs in and runs roles.sql; BootstrapError on any failure."""
    secrets: list[str] = []
    step = "checking roles.sql"
    try:
        sql = render_sql(settings, SQL_FILE.read_bytes())
        step = "reading the master secret"
        user, password = master_credentials(settings.secret_arn)
        secrets.append(password)
        step = f"signing in to {settings.host}:{settings.port}/{settings.database} as {user}"
        connection = connect(settings, user, password)
        try:
            step = "running roles.sql"
            connection.run(sql)
        finally:
            # The session may be gone already; closing must not replace the error saying why.
            with contextlib.suppress(Exception):
                connection.close()
    except BootstrapError as error:
        raise BootstrapError(one_line(f"{step}: {error}", secrets)) from None
    except Exception as error:
        raise BootstrapError(one_line(f"{step}: {describe(error)}", secrets)) from None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = event.get("RequestType")
    if request == "Delete":
        _log(request, "nothing to do: the roles and the canary table stay with the database")
        return {}
    if request not in ("Create", "Update"):
        raise BootstrapError(f"unknown RequestType {request!r}")
    settings = Settings.from_properties(dict(event.get("ResourceProperties") or {}))
    bootstrap(settings)
    _log(
        request,
        f"roles {settings.health_user} and {settings.validator_user} and table dr_canary "
        f"in place on {settings.host}:{settings.port}/{settings.database}",
    )
    return {"Data": {"HealthUser": settings.health_user, "ValidatorUser": settings.validator_user}}


def _log(request: str, message: str) -> None:
    print(json.dumps({"message": f"database roles: {message}", "request": request}), flush=True)
