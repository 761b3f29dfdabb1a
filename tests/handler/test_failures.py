"""What the report says about a failed check."""

from __future__ import annotations

import pytest
from dr_health.failures import describe, sqlstate

from tests.handler.support import database_error


def test_a_database_error_is_its_sqlstate_and_message_not_the_drivers_dict() -> None:
    error = database_error("57014", "canceling statement due to statement timeout")
    assert describe(error) == {
        "error": "DatabaseError",
        "message": "57014 canceling statement due to statement timeout",
    }
    assert sqlstate(error) == "57014"


def test_a_terminated_session_says_so() -> None:
    error = database_error("57P01", "terminating connection due to administrator command")
    assert describe(error)["message"] == "57P01 terminating connection due to administrator command"


def test_a_network_error_says_why() -> None:
    class InterfaceError(Exception):
        pass

    def read() -> None:
        try:
            raise TimeoutError("timed out")
        except OSError as cause:
            raise InterfaceError("network error") from cause

    with pytest.raises(InterfaceError) as raised:
        read()
    assert describe(raised.value)["message"] == "network error (TimeoutError: timed out)"


def test_a_cause_already_in_the_message_is_not_repeated() -> None:
    error = ConnectionError("Can't create a connection: [Errno 111] refused")
    error.__cause__ = TimeoutError("[Errno 111] refused")
    assert describe(error)["message"] == "Can't create a connection: [Errno 111] refused"


def test_an_error_without_text_is_named() -> None:
    assert describe(TimeoutError()) == {"error": "TimeoutError", "message": "TimeoutError"}


def test_a_message_is_redacted() -> None:
    error = database_error("28P01", "password authentication failed: password=hunter2")
    assert "hunter2" not in describe(error)["message"]
    assert sqlstate(ValueError("no fields")) is None
