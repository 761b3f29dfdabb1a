"""The late-write guard: no canary write after the report, nor one that could end after it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from dr_health import late_write
from dr_health.clients import client
from dr_health.late_write import LateWriteError


def in_thread(body: Callable[[], Any]) -> BaseException | None:
    """Run `body` in a new thread, as each check runs; the exception it raised, if any."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            body()
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return raised[0] if raised else None


def bound(reported: threading.Event, seconds_left: float) -> None:
    late_write.enter(reported, time.monotonic() + seconds_left)


def test_a_thread_outside_an_invocation_is_not_guarded() -> None:
    assert in_thread(lambda: late_write.ensure_current(lasts_s=60)) is None


def test_a_write_in_time_goes_out() -> None:
    def body() -> None:
        bound(threading.Event(), seconds_left=8)
        late_write.ensure_current()
        late_write.ensure_current(lasts_s=2)

    assert in_thread(body) is None


def test_no_write_once_the_invocation_reported() -> None:
    reported = threading.Event()
    reported.set()

    def body() -> None:
        bound(reported, seconds_left=8)
        late_write.ensure_current()

    error = in_thread(body)
    assert isinstance(error, LateWriteError)
    assert "already reported" in str(error)


def test_no_write_that_could_still_run_on_the_server_at_the_report() -> None:
    """A statement may wait on the server up to its timeout: it must end before the report."""

    def body() -> None:
        bound(threading.Event(), seconds_left=2.2)
        late_write.ensure_current(lasts_s=2)

    error = in_thread(body)
    assert isinstance(error, LateWriteError)
    assert "may last 2 s on the server" in str(error)


@pytest.fixture
def sdk_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never reached
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("sdk_env")
def test_the_sdk_canary_writes_are_guarded_on_every_attempt() -> None:
    """The hook runs before each attempt botocore sends, its retries included: after the
    report, not even the first goes out (so no connection error, the guard's error)."""
    reported = threading.Event()
    reported.set()

    def put_item() -> None:
        bound(reported, seconds_left=8)
        client("dynamodb").put_item(TableName="t", Item={"id": {"S": "x"}})

    def put_object() -> None:
        bound(reported, seconds_left=8)
        client("s3").put_object(Bucket="b", Key="k", Body=b"{}")

    assert isinstance(in_thread(put_item), LateWriteError)
    assert isinstance(in_thread(put_object), LateWriteError)
