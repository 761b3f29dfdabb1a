"""Each store's canary in its restored copy, through dr_common's readers.

Signing in to a restored Aurora cluster: an RDS IAM token for DB_USER (dr_validator, granted
rds_iam and SELECT on dr_canary), over TLS verified against the RDS CA bundle shipped in the
bundle (DB_CA_BUNDLE), straight to the validation instance's endpoint. Why not the RDS Data
API: it serves no T instance class (the smallest usable instance would cost more), it must be
switched on after the restore (EnableHttpEndpoint, which reports success before it accepts
queries), and it signs in with a Secrets Manager secret that must match the restored
cluster's password of backup time, which rotation may have changed since. An IAM token
needs no secret: the role and its rds_iam grant are in the restored data, and the selection's
restore metadata turns IAM authentication on for the restored cluster.

With DB_READER_FUNCTION set, the read is that function's (reader.py): the validator itself
then needs no route into the VPC, only Lambda's API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dr_common import postgres, stores
from dr_common.objectives import Reading
from dr_restore.settings import Settings

Connect = Callable[..., Any]


def read_table(dynamodb: Any, table: str, now: stores.Clock) -> Reading:
    return stores.read_dynamodb(dynamodb, table, now)


def read_bucket(s3: Any, bucket: str, settings: Settings, now: stores.Clock) -> Reading:
    return stores.read_s3(s3, bucket, settings.canary_object_key, now)


def read_database(
    rds: Any, host: str, port: int, settings: Settings, *, connect: Connect, now: stores.Clock
) -> Reading:
    return read_postgres_at(
        rds,
        host,
        port,
        Database(settings.db_name, settings.db_user, str(settings.ca_file), settings.region),
        connect=connect,
        now=now,
    )


@dataclass(frozen=True)
class Database:
    name: str
    user: str
    ca_file: str
    region: str


def read_postgres_at(
    rds: Any, host: str, port: int, database: Database, *, connect: Connect, now: stores.Clock
) -> Reading:
    """Signs in as `database.user` with an IAM token, TLS verified against the CA file, and
    reads the newest canary."""
    token = postgres.iam_token(rds, host, port, database.user, database.region)
    connection = connect(
        host=host,
        port=port,
        database=database.name,
        user=database.user,
        password=token,
        ca_file=database.ca_file,
    )
    try:
        return stores.read_postgres(connection, now)
    finally:
        postgres.close(connection)
