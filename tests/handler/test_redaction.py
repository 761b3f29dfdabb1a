"""Secrets never reach the report or the logs."""

from __future__ import annotations

import pytest
from dr_health.redaction import sanitize

SESSION_TOKEN = "fake-session-token-never-printed"


def test_sanitize_redacts_each_kind_of_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    messages = {
        "postgresql://dr_admin:hunter2@db.example:5432/dr refused": (
            "postgresql://<redacted>@db.example:5432/dr refused"
        ),
        "bad token host:5432/?Action=connect&X-Amz-Signature=abc ok": (
            "bad token host:5432/?<redacted> ok"
        ),
        'auth {"password": "hunter2", "user": "u"}': 'auth {"password": "<redacted>", "user": "u"}',
        "aws_secret_access_key=abc123 region=x": "aws_secret_access_key=<redacted> region=x",
        "key AKIAABCDEFGHIJKLMNOP used": "key <redacted> used",
        f"credentials {SESSION_TOKEN} expired": "credentials <redacted> expired",
        "x" * 400: "x" * 300,
    }
    assert [sanitize(message) for message in messages] == list(messages.values())


def test_a_secret_is_redacted_before_the_cut() -> None:
    """A cut through a secret would leave a half that no pattern matches any more."""
    message = "x" * 280 + " password=hunter2-and-more-of-it"
    assert "hunter2" not in sanitize(message)
