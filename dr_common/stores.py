"""The newest canary in a restored copy of each store, and when it was read.

Each reader returns a Reading: the canary's time, or None with where it was looked for (a
copy without its canary failed to keep what the health check wrote), and the time the read
returned (`now`, the caller's clock). Anything else (the
store cannot be reached, access is denied, the canary is not in the contract's format) is
raised: the caller turns it into the verdict's reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dr_common import canary
from dr_common.errors import aws_error_code, sqlstate
from dr_common.objectives import Reading

# PostgreSQL's undefined_table: the restored database has no canary table at all.
_UNDEFINED_TABLE = "42P01"
_NEWEST = f"SELECT max({canary.WRITTEN_AT}) FROM {canary.POSTGRES_TABLE}"


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def read_dynamodb(dynamodb: Any, table: str, now: Clock = utc_now) -> Reading:
    """The canary item of a restored table (a strongly consistent read)."""
    answer = dynamodb.get_item(
        TableName=table,
        Key={canary.DYNAMODB_KEY: {"S": canary.DYNAMODB_ITEM_ID}},
        ConsistentRead=True,
    )
    read_at = now()
    item = answer.get("Item")
    if item is None:
        return Reading(None, read_at, f"table {table} has no item {canary.DYNAMODB_ITEM_ID}")
    value = item.get(canary.WRITTEN_AT, {}).get("S")
    return Reading(canary.from_text(value), read_at)


def read_s3(s3: Any, bucket: str, key: str = canary.S3_OBJECT_KEY, now: Clock = utc_now) -> Reading:
    """The canary object of a restored bucket."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as error:
        if aws_error_code(error) != "NoSuchKey":
            raise
        return Reading(None, now(), f"bucket {bucket} has no object {key}")
    return Reading(canary.from_s3_body(body), now())


def read_postgres(connection: Any, now: Clock = utc_now) -> Reading:
    """The newest canary row of a restored database (a pg8000 native connection)."""
    try:
        [(newest,)] = connection.run(_NEWEST)
    except Exception as error:
        if sqlstate(error) != _UNDEFINED_TABLE:
            raise
        return Reading(None, now(), f"table {canary.POSTGRES_TABLE} does not exist")
    read_at = now()
    if newest is None:
        return Reading(None, read_at, f"table {canary.POSTGRES_TABLE} is empty")
    if not isinstance(newest, datetime):
        raise canary.CanaryFormatError(f"{canary.POSTGRES_TABLE} holds {newest!r}, not a time")
    return Reading(canary.aware(newest), read_at)


def read_postgres_through(lambda_: Any, function: str, host: str, port: int) -> Reading:
    """A restored database's newest canary through the restore validator's database reader
    function (lambda/restore_validator, `handler.read_database`, in the stage's VPC): it
    answers the reading, or the one-line error that kept it from reading."""
    answer = lambda_.invoke(
        FunctionName=function, Payload=json.dumps({"host": host, "port": port}).encode()
    )
    payload = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError") or not isinstance(payload, dict):
        raise RuntimeError(f"the database reader {function} failed: {payload}")
    if "error" in payload:
        raise RuntimeError(str(payload["error"]))
    written = payload.get("writtenAt")
    return Reading(
        None if written is None else datetime.fromisoformat(written),
        datetime.fromisoformat(payload["readAt"]),
        str(payload.get("absent") or ""),
    )
