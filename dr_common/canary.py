"""The canaries the health check writes, as a reader of a restored copy finds them.

The writer's side is lambda/health_check/dr_health/canary.py; tests/validator pins that both
name the same things. Each store keeps one canary with the time it was written:

- DynamoDB: item `id = "health-check#canary"`, attribute `written_at` (ISO 8601, UTC, ms);
- S3: object `health-check/canary.json`, JSON `{"written_at": ...}` in the same format;
- PostgreSQL: table `dr_canary (id text PRIMARY KEY, written_at timestamptz)`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

DYNAMODB_KEY = "id"
DYNAMODB_ITEM_ID = "health-check#canary"
WRITTEN_AT = "written_at"
S3_OBJECT_KEY = "health-check/canary.json"
POSTGRES_TABLE = "dr_canary"
POSTGRES_ROW_ID = "health-check"


class CanaryFormatError(ValueError):
    """A stored canary that is not in the contract's format: no time can be read from it."""


def to_text(moment: datetime) -> str:
    """The contract's text form: ISO 8601, UTC, milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def from_text(value: object) -> datetime:
    """A stored canary's time; CanaryFormatError unless it is ISO 8601 with a time zone (a
    time without one cannot be compared with a restore job's)."""
    if not isinstance(value, str):
        raise CanaryFormatError(f"the canary {value!r} is not an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CanaryFormatError(f"the canary {value!r} is not ISO 8601") from None
    return aware(moment)


def from_s3_body(body: bytes) -> datetime:
    try:
        document = json.loads(body)
    except ValueError:
        raise CanaryFormatError(f"the canary object {body[:80]!r} is not JSON") from None
    if not isinstance(document, dict):
        raise CanaryFormatError(f"the canary object {body[:80]!r} is not a JSON object")
    return from_text(document.get(WRITTEN_AT))


def aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise CanaryFormatError(f"the canary {moment.isoformat()} has no time zone")
    return moment
