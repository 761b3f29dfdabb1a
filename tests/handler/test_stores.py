"""DynamoDB and S3: the canary only moves forward, and a newer one (an overlapping run's) is
healthy, an older, missing or future one is not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from dr_health import canary, dynamodb, s3
from dr_health.canary import CanaryMismatchError
from dr_health.s3 import CanaryEncryptionError

from tests.handler.support import (
    STAGE_KEY_ARN,
    FakeBucket,
    FakeTable,
    client_error,
    parse,
    shifted,
)


def dynamodb_round_trip(table: FakeTable) -> str:
    return str(dynamodb.round_trip(table, "table")["canary"])


def s3_round_trip(bucket: FakeBucket) -> str:
    return str(s3.round_trip(bucket, "bucket", canary.S3_OBJECT_KEY, STAGE_KEY_ARN)["canary"])


def test_dynamodb_writes_over_an_older_canary_and_reads_it_back() -> None:
    table = FakeTable(stored=shifted(-300))
    reported = dynamodb_round_trip(table)
    [put] = table.puts
    assert put["Item"]["written_at"] == {"S": reported}
    assert table.stored == reported
    assert "written_at < :written" in put["ConditionExpression"]


def test_dynamodb_keeps_a_newer_canary_of_an_overlapping_run() -> None:
    newer = shifted(2)
    table = FakeTable(stored=newer)
    assert dynamodb_round_trip(table) == newer  # healthy: the newer one stays
    assert table.stored == newer


def test_dynamodb_a_newer_canary_written_between_the_write_and_the_read_is_healthy() -> None:
    table = FakeTable()
    newer = shifted(1)

    def overlapping_run_writes() -> None:
        table.stored = newer

    table.before_get = overlapping_run_writes
    assert dynamodb_round_trip(table) == newer


@pytest.mark.parametrize(
    ("read", "reason"),
    [(None, "no canary read back"), (-1, "older than"), (3600, "more than 60 s ahead")],
    ids=["missing", "older", "an-hour-ahead"],
)
def test_dynamodb_a_missing_older_or_future_read_is_a_mismatch(
    read: float | None, reason: str
) -> None:
    table = FakeTable()

    def store_answers_with_another() -> None:
        table.stored = None if read is None else shifted(read)

    table.before_get = store_answers_with_another
    with pytest.raises(CanaryMismatchError, match=reason):
        dynamodb_round_trip(table)


def test_dynamodb_other_errors_are_not_swallowed() -> None:
    class DeniedTable(FakeTable):
        def put_item(self, **request: Any) -> dict[str, Any]:
            raise client_error("AccessDeniedException", "PutItem")

    with pytest.raises(ClientError, match="AccessDeniedException"):
        dynamodb_round_trip(DeniedTable())


def test_s3_creates_the_canary_only_if_there_is_none() -> None:
    bucket = FakeBucket()
    reported = s3_round_trip(bucket)
    [put] = bucket.puts
    assert put["IfNoneMatch"] == "*"
    assert json.loads(put["Body"]) == {"written_at": reported}


def test_s3_replaces_the_canary_it_read_and_no_other() -> None:
    bucket = FakeBucket(json.dumps({"written_at": shifted(-300)}).encode())
    etag = bucket.etag
    reported = s3_round_trip(bucket)
    [put] = bucket.puts
    assert put["IfMatch"] == etag
    assert parse(reported) > parse(shifted(-300))


def test_s3_an_overlapping_run_that_wrote_first_wins() -> None:
    """The other run writes between this run's read and its write: the conditional write
    fails (412), and the newer canary is read back as healthy, not replaced."""
    bucket = FakeBucket(json.dumps({"written_at": shifted(-300)}).encode())
    newer = shifted(1)
    bucket.before_put = lambda: bucket.write(newer)
    assert s3_round_trip(bucket) == newer
    assert json.loads(bucket.body or b"") == {"written_at": newer}


def test_s3_does_not_write_over_a_newer_canary() -> None:
    newer = shifted(2)
    bucket = FakeBucket(json.dumps({"written_at": newer}).encode())
    assert s3_round_trip(bucket) == newer
    assert bucket.puts == []


@pytest.mark.parametrize(
    ("stored", "reason"),
    [(b"not json", "not JSON"), (json.dumps({"written_at": "soon"}).encode(), "not ISO 8601")],
)
def test_s3_a_canary_that_is_not_the_contract_format_is_a_mismatch(
    stored: bytes, reason: str
) -> None:
    with pytest.raises(CanaryMismatchError, match=reason):
        s3_round_trip(FakeBucket(stored))


def test_s3_a_future_canary_is_a_mismatch() -> None:
    bucket = FakeBucket(json.dumps({"written_at": shifted(86400)}).encode())
    with pytest.raises(CanaryMismatchError, match="more than 60 s ahead"):
        s3_round_trip(bucket)


def test_s3_a_canary_under_another_key_is_an_encryption_error() -> None:
    other = STAGE_KEY_ARN.replace("stage-key", "other-key")
    with pytest.raises(CanaryEncryptionError, match=f"under key '{other}'"):
        s3_round_trip(FakeBucket(key_arn=other))


def test_s3_checks_the_contracts_object_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The restore validator reads health-check/canary.json: another key is a fault."""
    monkeypatch.setenv("CANARY_OBJECT_KEY", "health-check/other.json")
    with pytest.raises(CanaryMismatchError, match="not the contract's"):
        s3.check()
