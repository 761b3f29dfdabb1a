"""The canaries: where each store keeps one and in what format.

After a point-in-time restore, a restore validator reads the restored copy's canary to tell up
to when data survived, so these names and formats are a contract: change them only together
with the validator.

- DynamoDB: item `id = "health-check#canary"`, attribute `written_at`, an ISO 8601 UTC string
  with milliseconds (`2026-11-30T06:12:00.123+00:00`);
- S3: object `health-check/canary.json`, JSON `{"written_at": ...}` in the same format;
- PostgreSQL: table `dr_canary (id text PRIMARY KEY, written_at timestamptz NOT NULL)`, row
  `id = 'health-check'`. The database roles bootstrap creates it (lambda/db_bootstrap/roles.sql)
  and lets the validator's role read it.

A store's canary only moves forward: each write is conditional on the stored canary being
older. So two overlapping runs (the release's smoke test meeting the schedule) both find a
canary at least as new as their own, and a late write cannot put an older one back.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

DYNAMODB_KEY = "id"
DYNAMODB_ITEM_ID = "health-check#canary"
WRITTEN_AT = "written_at"
S3_OBJECT_KEY = "health-check/canary.json"
POSTGRES_TABLE = "dr_canary"
POSTGRES_ROW_ID = "health-check"
# `date` loses the time of day, `timestamp` (without time zone) the zone: either makes the
# canary useless for telling when data was last written.
POSTGRES_COLUMNS = {"id": "text", WRITTEN_AT: "timestamp with time zone"}
# How far ahead of a run's own clock a stored canary may be. An overlapping run writes within
# its deadline (seconds); a canary further ahead (a skewed clock, a planted value) would keep
# every later write out and claim data survived that was never written.
MAX_AHEAD = timedelta(seconds=60)


class CanaryMismatchError(Exception):
    """A store answered, but not with a canary at least as new as the one this run wrote."""


class CanarySchemaError(Exception):
    """The canary table's columns are not the contract's."""


def now() -> datetime:
    """This run's time, to the millisecond the text form keeps (so a canary read back equals
    the one written)."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def to_text(moment: datetime) -> str:
    """The contract's text form: ISO 8601, UTC, milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def from_text(value: object) -> datetime:
    """A stored canary's time; CanaryMismatchError unless it is ISO 8601 with a time zone."""
    if not isinstance(value, str):
        raise CanaryMismatchError(f"the stored canary {value!r} is not an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CanaryMismatchError(f"the stored canary {value!r} is not ISO 8601") from None
    if moment.tzinfo is None:
        raise CanaryMismatchError(f"the stored canary {value!r} has no time zone")
    return moment


def s3_body(moment: datetime) -> bytes:
    return json.dumps({WRITTEN_AT: to_text(moment)}).encode()


def from_s3_body(body: bytes) -> datetime:
    try:
        document = json.loads(body)
    except ValueError:
        raise CanaryMismatchError(f"the stored canary {body[:80]!r} is not JSON") from None
    if not isinstance(document, dict):
        raise CanaryMismatchError(f"the stored canary {body[:80]!r} is not a JSON object")
    return from_text(document.get(WRITTEN_AT))


def confirm(written: datetime, stored: datetime | None) -> datetime:
    """The stored canary, if it is at least as new as `written` (this run's) and not
    implausibly far ahead of it; else CanaryMismatchError. A newer one is an overlapping run's."""
    if stored is None:
        raise CanaryMismatchError(f"no canary read back; wrote {to_text(written)}")
    if stored < written:
        raise CanaryMismatchError(
            f"read back {to_text(stored)}, older than the {to_text(written)} written"
        )
    return not_ahead(stored, written)


def not_ahead(stored: datetime, clock: datetime) -> datetime:
    """The stored canary, unless it is more than MAX_AHEAD ahead of `clock`."""
    if stored - clock > MAX_AHEAD:
        raise CanaryMismatchError(
            f"the stored canary {to_text(stored)} is more than {MAX_AHEAD.total_seconds():g} s "
            f"ahead of this run's clock ({to_text(clock)}): a clock or a stored value is wrong"
        )
    return stored


def confirm_columns(found: dict[str, str | None]) -> None:
    """`found`: each contract column's type as PostgreSQL names it (format_type), None if absent."""
    for column, expected in POSTGRES_COLUMNS.items():
        actual = found.get(column)
        if actual is None:
            raise CanarySchemaError(f"{POSTGRES_TABLE} has no column {column}")
        if actual != expected:
            raise CanarySchemaError(
                f"{POSTGRES_TABLE}.{column} is {actual}, not {expected} as the restore "
                "validator reads it"
            )
