"""Reading the newest canary from a restored table, bucket and database: present, absent,
malformed, and a store that cannot be read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dr_common import stores
from dr_common.canary import CanaryFormatError
from tests.validator.fakes import FakeConnection, FakeDynamoDB, FakeS3, canary_body, client_error

WRITTEN = datetime(2026, 11, 30, 5, 10, 0, 123000, tzinfo=UTC)


def test_dynamodb_reads_the_canary_item_consistently() -> None:
    table = FakeDynamoDB(
        {
            "t": {
                "id": {"S": "health-check#canary"},
                "written_at": {"S": "2026-11-30T05:10:00.123+00:00"},
            }
        }
    )
    reading = stores.read_dynamodb(table, "t")
    assert reading.written_at == WRITTEN
    assert abs(reading.read_at - datetime.now(UTC)) < timedelta(seconds=5)


def test_dynamodb_without_the_item_has_no_canary_and_says_where() -> None:
    reading = stores.read_dynamodb(FakeDynamoDB(), "t")
    assert (reading.written_at, reading.absent) == (None, "table t has no item health-check#canary")


def test_dynamodb_with_a_time_without_zone_is_malformed() -> None:
    table = FakeDynamoDB(
        {"t": {"id": {"S": "health-check#canary"}, "written_at": {"S": "2026-11-30T05:10:00"}}}
    )
    with pytest.raises(CanaryFormatError, match="no time zone"):
        stores.read_dynamodb(table, "t")


def test_s3_reads_the_canary_object_and_tells_a_missing_object_from_a_missing_bucket() -> None:
    bucket = FakeS3({("b", "health-check/canary.json"): canary_body(WRITTEN)}, {"b", "empty"})
    assert stores.read_s3(bucket, "b").written_at == WRITTEN
    absent = stores.read_s3(bucket, "empty")
    assert (absent.written_at, absent.absent) == (
        None,
        "bucket empty has no object health-check/canary.json",
    )
    with pytest.raises(Exception, match="NoSuchBucket"):
        stores.read_s3(bucket, "gone")


def test_postgres_reads_the_newest_canary() -> None:
    connection = FakeConnection([(WRITTEN,)])
    assert stores.read_postgres(connection).written_at == WRITTEN
    assert connection.statements == ["SELECT max(written_at) FROM dr_canary"]


@pytest.mark.parametrize(
    ("rows", "absent"),
    [
        ([(None,)], "table dr_canary is empty"),
        (
            Exception({"S": "ERROR", "C": "42P01", "M": 'relation "dr_canary" does not exist'}),
            "table dr_canary does not exist",
        ),
    ],
)
def test_postgres_without_a_canary_says_why(
    rows: list[tuple[object]] | Exception, absent: str
) -> None:
    reading = stores.read_postgres(FakeConnection(rows))
    assert (reading.written_at, reading.absent) == (None, absent)


def test_postgres_errors_other_than_a_missing_table_are_raised() -> None:
    refused = Exception({"S": "FATAL", "C": "28000", "M": "PAM authentication failed"})
    with pytest.raises(Exception, match="28000"):
        stores.read_postgres(FakeConnection(refused))
    with pytest.raises(CanaryFormatError, match="no time zone"):
        stores.read_postgres(FakeConnection([(WRITTEN.replace(tzinfo=None),)]))


def test_an_unreadable_table_is_raised() -> None:
    with pytest.raises(Exception, match="ResourceNotFoundException"):
        stores.read_dynamodb(
            FakeDynamoDB(error=client_error("ResourceNotFoundException", "GetItem")), "t"
        )
