"""The database reader (handler.read_database): the newest canary of a restored database for
a validator outside the VPC, or one line saying why not; it signs in as the validator would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from dr_restore import reader

from tests.validator.fakes import FakeConnection

WRITTEN = datetime(2026, 11, 30, 5, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DB_NAME": "drhealth",
        "DB_USER": "dr_validator",
        "DB_CA_BUNDLE": "rds-ca-bundle.pem",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE01",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }.items():
        monkeypatch.setenv(name, value)


def test_it_answers_the_reading_and_signs_in_with_an_iam_token() -> None:
    opened: list[dict[str, Any]] = []

    def connect(**options: Any) -> FakeConnection:
        opened.append(options)
        return FakeConnection([(WRITTEN,)])

    answer = reader.read({"host": "drv-1.example.internal", "port": 5432}, connect)
    assert answer["writtenAt"] == WRITTEN.isoformat() and answer["absent"] == ""
    datetime.fromisoformat(answer["readAt"])
    [options] = opened
    assert (options["host"], options["port"], options["user"], options["database"]) == (
        "drv-1.example.internal",
        5432,
        "dr_validator",
        "drhealth",
    )
    assert options["ca_file"] == str(reader.BUNDLE_ROOT / "rds-ca-bundle.pem")
    assert "X-Amz-Signature=" in options["password"]  # a token, signed locally


def test_a_failure_is_one_line_without_the_token() -> None:
    def refuse(**options: Any) -> FakeConnection:
        raise ConnectionRefusedError(f"refused, password={options['password']}")

    answer = reader.read({"host": "h", "port": 5432}, refuse)
    assert answer["error"].startswith("ConnectionRefusedError: refused, password=<redacted>")
    assert "X-Amz" not in answer["error"]
    assert reader.read({"port": 5432})["error"] == "KeyError: 'host'"
