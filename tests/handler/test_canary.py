"""The canary contract a restore validator reads, and which canary a run may accept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from dr_health import canary
from dr_health.canary import CanaryMismatchError, CanarySchemaError


def test_the_contract_is_what_the_restore_validator_reads() -> None:
    assert (canary.DYNAMODB_KEY, canary.DYNAMODB_ITEM_ID) == ("id", "health-check#canary")
    assert canary.WRITTEN_AT == "written_at"
    assert canary.S3_OBJECT_KEY == "health-check/canary.json"
    assert (canary.POSTGRES_TABLE, canary.POSTGRES_ROW_ID) == ("dr_canary", "health-check")
    assert canary.POSTGRES_COLUMNS == {"id": "text", "written_at": "timestamp with time zone"}


def test_text_form_is_iso_8601_utc_with_milliseconds() -> None:
    moment = datetime(2026, 11, 30, 7, 12, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert canary.to_text(moment) == "2026-11-30T06:12:00.123+00:00"
    assert canary.s3_body(moment) == b'{"written_at": "2026-11-30T06:12:00.123+00:00"}'


def test_now_survives_its_text_form() -> None:
    """A canary read back equals the one written (the text keeps milliseconds only)."""
    written = canary.now()
    assert canary.from_text(canary.to_text(written)) == written
    assert canary.from_s3_body(canary.s3_body(written)) == written


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "not an ISO 8601 string"),
        (1764483120, "not an ISO 8601 string"),
        ("yesterday", "not ISO 8601"),
        ("2026-11-30T06:12:00.123", "no time zone"),
    ],
)
def test_a_stored_canary_must_be_iso_8601_with_a_zone(value: object, reason: str) -> None:
    with pytest.raises(CanaryMismatchError, match=reason):
        canary.from_text(value)


@pytest.mark.parametrize("body", [b"not json", b"[1]", b'{"written": "x"}'])
def test_an_s3_canary_must_be_the_contract_object(body: bytes) -> None:
    with pytest.raises(CanaryMismatchError):
        canary.from_s3_body(body)


WRITTEN = datetime(2026, 11, 30, 6, 12, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize("later", [timedelta(0), timedelta(milliseconds=1), timedelta(seconds=8)])
def test_the_own_canary_or_a_newer_one_is_confirmed(later: timedelta) -> None:
    """A newer canary is an overlapping run's (the smoke test meeting the schedule)."""
    assert canary.confirm(WRITTEN, WRITTEN + later) == WRITTEN + later


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        (None, "no canary read back"),
        (WRITTEN - timedelta(milliseconds=1), "older than"),
        (WRITTEN + timedelta(seconds=61), "more than 60 s ahead"),
        (WRITTEN + timedelta(days=365), "more than 60 s ahead"),
    ],
    ids=["missing", "older", "a-minute-ahead", "a-year-ahead"],
)
def test_a_missing_older_or_future_canary_is_a_mismatch(
    stored: datetime | None, reason: str
) -> None:
    with pytest.raises(CanaryMismatchError, match=reason):
        canary.confirm(WRITTEN, stored)


def test_the_contract_columns_pass() -> None:
    canary.confirm_columns({"id": "text", "written_at": "timestamp with time zone"})


@pytest.mark.parametrize(
    ("columns", "reason"),
    [
        ({"id": "text", "written_at": "date"}, "written_at is date, not timestamp with time zone"),
        (
            {"id": "text", "written_at": "timestamp without time zone"},
            "written_at is timestamp without time zone, not timestamp with time zone",
        ),
        ({"id": "text", "written_at": None}, "no column written_at"),
        ({"id": "integer", "written_at": "timestamp with time zone"}, "id is integer, not text"),
    ],
)
def test_other_column_types_are_a_schema_error(columns: dict[str, str | None], reason: str) -> None:
    with pytest.raises(CanarySchemaError, match=reason):
        canary.confirm_columns(columns)
