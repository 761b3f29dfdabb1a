"""An on-demand AWS Backup job, started and polled to its end within a hard time bound.

boto3 has no waiter for backup jobs, so this is the one poll loop: DescribeBackupJob with
backoff (by default 5 s, doubling, capped at 30 s), one progress line per poll, and a hard
bound measured from the start request. COMPLETED returns; FAILED, ABORTED, EXPIRED and
PARTIAL raise BackupJobFailedError with the job's StatusMessage; every other state (CREATED,
PENDING, RUNNING, ABORTING) is polled again; the bound passing raises BackupJobTimeoutError
with the last state seen. API errors that botocore retries (throttling, 5xx) are retried
there, with backoff; a retried StartBackupJob keeps its IdempotencyToken, so AWS Backup
starts one job, not two. An API error botocore does not retry, or still gets after its last
attempt (e.g. ExpiredToken once the role-chained session's hour ends), raises
BackupJobStartError or BackupJobPollError, naming the job, its last state and the error.

The bound is checked between calls, so the overshoot is one DescribeBackupJob started at the
bound: with the client config the tests use (target.BACKUP_CONFIG: 3 attempts, 5 s connect
and 10 s read timeouts) at most 3 x (5 + 10) s plus under 3 s of retry backoff, about 48 s
(botocore adds up to 5 s per retry if the service sends x-amz-retry-after, and the read
timeout bounds each wait for data, not a whole slow response).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

COMPLETED = "COMPLETED"
FAILED_STATES = frozenset({"FAILED", "ABORTED", "EXPIRED", "PARTIAL"})
# AWS Backup requires a start window of at least an hour.
START_WINDOW_MINUTES = 60

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Polling:
    timeout_seconds: float
    initial_seconds: float = 5.0
    max_seconds: float = 30.0
    factor: float = 2.0

    def intervals(self) -> Iterator[float]:
        interval = self.initial_seconds
        while True:
            yield interval
            interval = min(interval * self.factor, self.max_seconds)


@dataclass(frozen=True)
class BackupRequest:
    vault_name: str
    resource_arn: str
    iam_role_arn: str
    delete_after_days: int
    idempotency_token: str = field(default_factory=lambda: str(uuid.uuid4()))

    def parameters(self) -> dict[str, Any]:
        return {
            "BackupVaultName": self.vault_name,
            "ResourceArn": self.resource_arn,
            "IamRoleArn": self.iam_role_arn,
            "IdempotencyToken": self.idempotency_token,
            "StartWindowMinutes": START_WINDOW_MINUTES,
            "Lifecycle": {"DeleteAfterDays": self.delete_after_days},
        }


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: str
    percent_done: str
    status_message: str
    recovery_point_arn: str
    elapsed_seconds: float

    @classmethod
    def from_response(cls, response: dict[str, Any], elapsed: float) -> JobStatus:
        return cls(
            job_id=str(response["BackupJobId"]),
            state=str(response["State"]),
            percent_done=str(response.get("PercentDone", "?")),
            status_message=str(response.get("StatusMessage", "")),
            recovery_point_arn=str(response.get("RecoveryPointArn", "")),
            elapsed_seconds=elapsed,
        )


class BackupJobError(Exception):
    """The backup job did not complete; the message says why."""


def api_error(error: ClientError | BotoCoreError) -> str:
    """`Code: Message` of an AWS error, or the botocore error (e.g. a timeout) by its class."""
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        return f"{detail.get('Code', '?')}: {detail.get('Message', error)}"
    return f"{type(error).__name__}: {error}"


class BackupJobStartError(BackupJobError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"StartBackupJob failed: {reason}")


class BackupJobPollError(BackupJobError):
    """DescribeBackupJob failed (after botocore's retries, if it retried at all)."""

    def __init__(
        self, job_id: str, last_state: str | None, elapsed_seconds: float, reason: str
    ) -> None:
        super().__init__(
            f"DescribeBackupJob of backup job {job_id} failed after {elapsed_seconds:.1f} s "
            f"(last state: {last_state or 'no state yet'}): {reason}"
        )
        self.job_id = job_id
        self.last_state = last_state
        self.elapsed_seconds = elapsed_seconds


class BackupJobFailedError(BackupJobError):
    def __init__(self, status: JobStatus) -> None:
        super().__init__(
            f"backup job {status.job_id} ended {status.state} after "
            f"{status.elapsed_seconds:.1f} s: {status.status_message or '(no StatusMessage)'}"
        )
        self.status = status


class BackupJobTimeoutError(BackupJobError):
    def __init__(self, status: JobStatus, bound: float) -> None:
        past = f"after {status.elapsed_seconds:.1f} s, past the {bound:g} s bound"
        if status.state == "CREATED":
            # Not a slow backup but one not begun: AWS Backup may hold an on-demand job for
            # its whole start window.
            message = (
                f"still CREATED {past}: AWS Backup had not started it (an on-demand job may "
                f"wait up to its StartWindowMinutes, {START_WINDOW_MINUTES}, to start); it may "
                "still start"
            )
        else:
            message = (
                f"still {status.state} ({status.percent_done}% done) {past}; it may still be "
                "running"
            )
        super().__init__(f"backup job {status.job_id} {message} (see the AWS Backup console)")
        self.status = status


def progress_line(status: JobStatus, bound: float) -> str:
    return (
        f"[backup] job {status.job_id}: {status.state} {status.percent_done}% "
        f"(elapsed {status.elapsed_seconds:.1f} s of {bound:g} s)"
    )


def start_backup_job(client: Any, request: BackupRequest) -> str:
    try:
        response = client.start_backup_job(**request.parameters())
    except (ClientError, BotoCoreError) as error:
        raise BackupJobStartError(api_error(error)) from error
    job_id = response.get("BackupJobId")
    if not job_id:
        request_id = response.get("ResponseMetadata", {}).get("RequestId", "?")
        raise BackupJobStartError(f"the answer (request id {request_id}) has no BackupJobId")
    return str(job_id)


def wait_for_backup_job(
    client: Any,
    job_id: str,
    polling: Polling,
    progress: Progress,
    started: float | None = None,
) -> JobStatus:
    """Poll until a terminal state or the bound (counted from `started`, a time.monotonic()
    value, by default now). Returns the COMPLETED status; raises BackupJobError otherwise."""
    started = time.monotonic() if started is None else started
    deadline = started + polling.timeout_seconds
    last_state: str | None = None
    for interval in polling.intervals():
        try:
            response = client.describe_backup_job(BackupJobId=job_id)
        except (ClientError, BotoCoreError) as error:
            elapsed = time.monotonic() - started
            raise BackupJobPollError(job_id, last_state, elapsed, api_error(error)) from error
        status = JobStatus.from_response(response, time.monotonic() - started)
        last_state = status.state
        progress(progress_line(status, polling.timeout_seconds))
        if status.state == COMPLETED:
            return status
        if status.state in FAILED_STATES:
            raise BackupJobFailedError(status)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BackupJobTimeoutError(status, polling.timeout_seconds)
        # The last sleep ends at the bound, so the last look is taken there.
        time.sleep(min(interval, remaining))
    raise AssertionError("unreachable: intervals() never ends")


def run_backup_job(
    client: Any, request: BackupRequest, polling: Polling, progress: Progress
) -> JobStatus:
    started = time.monotonic()
    job_id = start_backup_job(client, request)
    progress(f"[backup] started job {job_id} of {request.resource_arn} into {request.vault_name}")
    return wait_for_backup_job(client, job_id, polling, progress, started)
