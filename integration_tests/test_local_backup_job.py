"""Local only: the backup poll loop (backup_job.py) against the stand-in, with small
intervals: its backoff, its hard bound, its progress lines, and each way a job can end."""

from __future__ import annotations

import itertools
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from integration_tests.backup_job import (
    BackupJobFailedError,
    BackupJobStartError,
    BackupJobTimeoutError,
    BackupRequest,
    Polling,
    run_backup_job,
    start_backup_job,
)
from integration_tests.local.harness import REGION, LocalStage
from integration_tests.standin import Keys
from integration_tests.target import CLIENT_CONFIG, Target

FAST = Polling(timeout_seconds=5, initial_seconds=0.05, max_seconds=0.2)


@pytest.fixture
def keys(local_stage: LocalStage) -> Keys:
    """A key of this test's own: the stand-in scopes scripts, faults and records to it."""
    return local_stage.standin.new_keys()


@pytest.fixture
def backup(local_stage: LocalStage, keys: Keys) -> Any:
    return boto3.client(
        "backup",
        endpoint_url=local_stage.standin_url,
        region_name=REGION,
        aws_access_key_id=keys.access_key_id,
        aws_secret_access_key=keys.secret_access_key,
        config=CLIENT_CONFIG,
    )


@pytest.fixture
def request_(target: Target) -> BackupRequest:
    return BackupRequest(
        target.vault_name, target.table_arn, target.backup_role_arn, target.backup.retention_days
    )


def describe_times(stage: LocalStage, keys: Keys) -> list[float]:
    records = stage.standin.requests(keys.access_key_id)
    return [r["time"] for r in records if r["operation"] == "DescribeBackupJob"]


def test_backoff_grows_to_its_cap_with_one_progress_line_per_poll(
    local_stage: LocalStage, keys: Keys, backup: Any, request_: BackupRequest
) -> None:
    local_stage.standin.script_next_job("COMPLETED", polls=6, principal=keys.access_key_id)
    lines: list[str] = []
    status = run_backup_job(backup, request_, FAST, lines.append)
    assert status.state == "COMPLETED"
    times = describe_times(local_stage, keys)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == 5
    for gap, expected in zip(gaps, [0.05, 0.1, 0.2, 0.2, 0.2], strict=True):
        assert expected - 0.01 <= gap <= expected + 0.15, gaps
    polls = [line for line in lines if ": CREATED " in line or "% (elapsed" in line]
    assert len(polls) == len(times) == 6
    assert polls[0].startswith(f"[backup] job {status.job_id}: CREATED 0.0% (elapsed ")
    assert polls[-1].endswith(" s of 5 s)")
    assert " RUNNING " in polls[1]
    assert " COMPLETED 100.0% " in polls[-1]


def test_a_stuck_job_fails_at_the_bound_with_its_last_state(
    local_stage: LocalStage, keys: Keys, backup: Any, request_: BackupRequest
) -> None:
    local_stage.standin.script_next_job("RUNNING", principal=keys.access_key_id)
    bound = Polling(timeout_seconds=0.5, initial_seconds=0.05, max_seconds=0.2)
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(BackupJobTimeoutError) as raised:
        run_backup_job(backup, request_, bound, lines.append)
    seconds = time.monotonic() - started
    assert 0.5 <= seconds < 0.5 + 0.3  # the last sleep is cut short at the bound
    status = raised.value.status
    assert status.state == "RUNNING"
    assert 0.5 <= status.elapsed_seconds < 0.8
    message = str(raised.value)
    assert f"backup job {status.job_id} still RUNNING (37.0% done) after " in message
    assert "past the 0.5 s bound" in message
    assert lines[-1].endswith(" s of 0.5 s)")


@pytest.mark.parametrize("state", ["FAILED", "ABORTED", "EXPIRED", "PARTIAL"])
def test_each_unsuccessful_end_fails_with_the_status_message(
    local_stage: LocalStage, keys: Keys, backup: Any, request_: BackupRequest, state: str
) -> None:
    local_stage.standin.script_next_job(
        state, polls=2, message=f"scripted {state}", principal=keys.access_key_id
    )
    with pytest.raises(BackupJobFailedError) as raised:
        run_backup_job(backup, request_, FAST, lambda line: None)
    assert raised.value.status.state == state
    assert f"ended {state} after " in str(raised.value)
    assert str(raised.value).endswith(f": scripted {state}")


def test_a_lifecycle_shorter_than_the_vault_lock_fails_the_job(
    backup: Any, request_: BackupRequest
) -> None:
    short = BackupRequest(request_.vault_name, request_.resource_arn, request_.iam_role_arn, 1)
    with pytest.raises(BackupJobFailedError, match="shorter than the minimum retention of 7 days"):
        run_backup_job(backup, short, FAST, lambda line: None)


def test_an_unknown_vault_fails_the_start(backup: Any, request_: BackupRequest) -> None:
    missing = BackupRequest("no-such-vault", request_.resource_arn, request_.iam_role_arn, 7)
    with pytest.raises(BackupJobStartError, match="ResourceNotFoundException: Backup vault"):
        start_backup_job(backup, missing)


def test_an_unknown_job_is_not_found(backup: Any) -> None:
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        backup.describe_backup_job(BackupJobId="00000000-0000-0000-0000-000000000000")


def test_a_server_error_is_retried_and_the_token_starts_one_job(
    local_stage: LocalStage, keys: Keys, backup: Any, request_: BackupRequest
) -> None:
    local_stage.standin.inject_fault(
        "StartBackupJob",
        "ServiceUnavailableException",
        "try again",
        status=503,
        principal=keys.access_key_id,
    )
    first = start_backup_job(backup, request_)
    assert start_backup_job(backup, request_) == first  # the same token: the same job
    starts = [
        r
        for r in local_stage.standin.requests(keys.access_key_id)
        if r["operation"] == "StartBackupJob"
    ]
    assert [r["status"] for r in starts] == [503, 200, 200]
    assert {r["params"]["IdempotencyToken"] for r in starts} == {request_.idempotency_token}
