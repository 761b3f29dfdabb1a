"""An on-demand AWS Backup job, started and polled to its end within a hard time bound.

boto3 has no waiter for backup jobs, so this is the one poll loop. The bound counts from the
start of run_backup_job and covers everything it does:

1. Wait until no other backup job of the resource is active (CREATED, PENDING, RUNNING or
   ABORTING; ListBackupJobs, one query per state). AWS Backup runs one backup job per
   resource at a time; a job that cannot start within its start window ends EXPIRED. So the
   release's job does not queue behind the plan's hourly job, nor hold the table while that
   one waits (see the README, "Integration tests", for what the AWS docs do and do not say).
2. StartBackupJob, with an IdempotencyToken (a retried start is one job, not two).
3. DescribeBackupJob with backoff (by default 5 s, doubling, capped at 30 s), one progress
   line per poll. COMPLETED returns; FAILED, ABORTED, EXPIRED and PARTIAL raise
   BackupJobFailedError with the job's StatusMessage; every other state is polled again; the
   bound passing raises BackupJobTimeoutError with the last state seen.

Every call is awaited in a worker thread for at most `call_seconds` (60 s by default), and
none starts after the bound, so run_backup_job returns or raises at most
`timeout_seconds + call_seconds` after it was called, whatever the network or the service
does: botocore's own timeouts bound each socket read, not a response dripped byte by byte.
API errors that botocore retries (throttling, 5xx) are retried there, within that call's
budget. An API error botocore does not retry (e.g. ExpiredToken once the role-chained
session's hour ends), a call that does not answer in its budget, or an answer that is not
what the API reference describes (no State, no BackupJobId, JSON null, an HTML page) raises
a BackupJobError naming the job, its last state and the elapsed time, in one line.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from integration_tests.bounded import (
    Deadline,
    NoAnswerError,
    api_error,
    call_within,
    finite_positive,
)

COMPLETED = "COMPLETED"
FAILED_STATES = frozenset({"FAILED", "ABORTED", "EXPIRED", "PARTIAL"})
# The states of a job that holds, or waits for, its resource (the API's BackupJobState enum
# minus the terminal ones).
ACTIVE_STATES = ("CREATED", "PENDING", "RUNNING", "ABORTING")
# AWS Backup requires a start window of at least an hour.
START_WINDOW_MINUTES = 60
DEFAULT_CALL_SECONDS = 60.0
# ListBackupJobs pages per state: a resource has one active job at a time, so more pages
# than this mean the answers are not what the API describes.
_MAX_PAGES = 20

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Polling:
    timeout_seconds: float
    initial_seconds: float = 5.0
    max_seconds: float = 30.0
    factor: float = 2.0
    call_seconds: float = DEFAULT_CALL_SECONDS  # the longest wait for one call's answer

    def __post_init__(self) -> None:
        # NaN or infinity would make the poll unbounded; zero or less, meaningless.
        finite_positive(self.timeout_seconds, "the backup job's bound")
        finite_positive(self.initial_seconds, "the poll's first interval")
        finite_positive(self.max_seconds, "the poll's longest interval")
        finite_positive(self.call_seconds, "the wait for one call")
        if not self.factor >= 1 or self.factor == float("inf"):
            raise ValueError(f"the poll's backoff factor must be finite and >= 1: {self.factor}")

    def intervals(self) -> Iterator[float]:
        interval = self.initial_seconds
        while True:
            yield interval
            interval = min(interval * self.factor, self.max_seconds)

    def deadline(self, started: float) -> Deadline:
        return Deadline(started, self.timeout_seconds, self.call_seconds)


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


def answer_context(response: object) -> str:
    """HTTP status, content type and request id of an answer, for an error message."""
    metadata = response.get("ResponseMetadata", {}) if isinstance(response, dict) else {}
    headers = metadata.get("HTTPHeaders", {})
    return (
        f"HTTP {metadata.get('HTTPStatusCode', '?')}, "
        f"Content-Type {headers.get('content-type', '?')}, "
        f"request id {metadata.get('RequestId') or '?'}"
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: str
    percent_done: str
    status_message: str
    recovery_point_arn: str
    elapsed_seconds: float

    @classmethod
    def from_response(cls, response: object, job_id: str, elapsed: float) -> JobStatus:
        """The job's status, or UnusableAnswer saying what the answer lacks."""
        if not isinstance(response, dict):
            raise UnusableAnswer(f"not a JSON object but {type(response).__name__}")
        answered_id, state = _text(response.get("BackupJobId")), _text(response.get("State"))
        context = answer_context(response)
        if answered_id is None:
            raise UnusableAnswer(f"it has no BackupJobId ({context})")
        if answered_id != job_id:
            raise UnusableAnswer(f"it describes job {answered_id} instead ({context})")
        if state is None:
            raise UnusableAnswer(f"it has no State ({context})")
        return cls(
            job_id=job_id,
            state=state,
            percent_done=str(response.get("PercentDone", "?")),
            status_message=str(response.get("StatusMessage", "")),
            recovery_point_arn=str(response.get("RecoveryPointArn", "")),
            elapsed_seconds=elapsed,
        )


@dataclass(frozen=True)
class OtherJob:
    """A backup job of the same resource that is still active."""

    job_id: str
    state: str
    origin: str  # "plan <id>" or "on demand, role <name>"

    @classmethod
    def from_listing(cls, job: object) -> OtherJob:
        if not isinstance(job, dict):
            raise UnusableAnswer(f"a listed job is {type(job).__name__}, not a JSON object")
        job_id, state = _text(job.get("BackupJobId")), _text(job.get("State"))
        if job_id is None or state is None:
            raise UnusableAnswer("a listed job has no BackupJobId or State")
        created_by = job.get("CreatedBy")
        plan = created_by.get("BackupPlanId") if isinstance(created_by, dict) else None
        role = str(job.get("IamRoleArn") or "?").rsplit("/", 1)[-1]
        return cls(job_id, state, f"plan {plan}" if plan else f"on demand, role {role}")

    def __str__(self) -> str:
        return f"{self.job_id} ({self.state}, {self.origin})"


class UnusableAnswer(Exception):  # noqa: N818 (not raised to the caller: it becomes one below)
    """An answer that is not what the AWS Backup API reference describes."""


class BackupJobError(Exception):
    """The backup job did not complete; the message says why."""


def _bounded(
    call: Callable[[], Any], seconds: float, poll: Polling, waiting: Callable[[float], None]
) -> Any:
    """call() within `seconds`; every failure comes back as UnusableAnswer, NoAnswerError or
    the botocore error, for the caller to name."""
    try:
        return call_within(call, seconds, every=poll.max_seconds, waiting=waiting)
    except (ClientError, BotoCoreError, NoAnswerError):
        raise
    except Exception as error:  # botocore failing on the answer itself, e.g. a JSON null body
        raise UnusableAnswer(
            f"botocore could not read it ({type(error).__name__}: {error})"
        ) from error


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError | BotoCoreError):
        return api_error(error)
    if isinstance(error, UnusableAnswer):
        return f"unusable answer: {error}"
    return str(error)


class BackupJobStartError(BackupJobError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"StartBackupJob failed: {reason}")


class BackupJobPollError(BackupJobError):
    """DescribeBackupJob failed (after botocore's retries, if it retried at all), did not
    answer within its budget, or answered something unusable."""

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


class BackupTableCheckError(BackupJobError):
    """ListBackupJobs failed, did not answer in its budget, or answered something unusable."""

    def __init__(self, resource_arn: str, elapsed_seconds: float, reason: str) -> None:
        super().__init__(
            f"ListBackupJobs of {resource_arn} failed after {elapsed_seconds:.1f} s: {reason}"
        )


class BackupTableBusyError(BackupJobError):
    def __init__(
        self, resource_arn: str, jobs: list[OtherJob], elapsed: float, bound: float
    ) -> None:
        super().__init__(
            f"{resource_arn} still had active backup jobs after {elapsed:.1f} s, past the "
            f"{bound:g} s bound: {', '.join(map(str, jobs))}; no job was started (AWS Backup "
            "runs one backup job per resource at a time)"
        )
        self.jobs = jobs


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


def active_jobs(
    client: Any, resource_arn: str, polling: Polling, deadline: Deadline, progress: Progress
) -> list[OtherJob]:
    """The resource's backup jobs that are not over yet (ListBackupJobs takes one state per
    query, so one query per active state, each page within the call budget)."""
    found: list[OtherJob] = []

    def waiting(seconds: float) -> None:
        progress(
            f"[backup] ListBackupJobs has not answered for {seconds:.1f} s "
            f"(elapsed {deadline.elapsed():.1f} s of {polling.timeout_seconds:g} s)"
        )

    for state in ACTIVE_STATES:
        query: dict[str, Any] = {"ByResourceArn": resource_arn, "ByState": state}
        for _ in range(_MAX_PAGES):
            try:
                answer = _bounded(
                    partial(client.list_backup_jobs, **query),
                    deadline.call_budget(),
                    polling,
                    waiting,
                )
                if not isinstance(answer, dict) or not isinstance(
                    answer.get("BackupJobs", []), list
                ):
                    raise UnusableAnswer(f"no BackupJobs list ({answer_context(answer)})")
                found += [OtherJob.from_listing(job) for job in answer.get("BackupJobs", [])]
            except (ClientError, BotoCoreError, NoAnswerError, UnusableAnswer) as error:
                raise BackupTableCheckError(
                    resource_arn, deadline.elapsed(), _reason(error)
                ) from error
            if not (token := answer.get("NextToken")):
                break
            query = {**query, "NextToken": token}
        else:
            raise BackupTableCheckError(
                resource_arn, deadline.elapsed(), f"more than {_MAX_PAGES} pages of {state} jobs"
            )
    return found


def wait_until_no_active_job(
    client: Any, resource_arn: str, polling: Polling, progress: Progress, started: float
) -> None:
    """Return once the resource has no active backup job, polling with the same backoff;
    BackupTableBusyError at the bound (counted from `started`)."""
    deadline = polling.deadline(started)
    waited = False
    for interval in polling.intervals():
        jobs = active_jobs(client, resource_arn, polling, deadline, progress)
        if not jobs:
            if waited:
                progress(
                    f"[backup] no active backup job of {resource_arn} any more "
                    f"(elapsed {deadline.elapsed():.1f} s of {polling.timeout_seconds:g} s)"
                )
            return
        waited = True
        progress(
            f"[backup] waiting: {resource_arn} has active backup jobs: "
            f"{', '.join(map(str, jobs))} "
            f"(elapsed {deadline.elapsed():.1f} s of {polling.timeout_seconds:g} s)"
        )
        remaining = deadline.remaining()
        if remaining <= 0:
            raise BackupTableBusyError(
                resource_arn, jobs, deadline.elapsed(), polling.timeout_seconds
            )
        time.sleep(min(interval, remaining))
    raise AssertionError("unreachable: intervals() never ends")


def start_backup_job(
    client: Any,
    request: BackupRequest,
    *,
    call_seconds: float = DEFAULT_CALL_SECONDS,
    progress: Progress = lambda line: None,
    every: float = 30.0,
) -> str:
    def waiting(seconds: float) -> None:
        progress(f"[backup] StartBackupJob has not answered for {seconds:.1f} s")

    try:
        response = call_within(
            lambda: client.start_backup_job(**request.parameters()),
            call_seconds,
            every=every,
            waiting=waiting,
        )
    except (ClientError, BotoCoreError) as error:
        raise BackupJobStartError(api_error(error)) from error
    except NoAnswerError as error:
        raise BackupJobStartError(
            f"{error}; a job may have been started (IdempotencyToken {request.idempotency_token})"
        ) from error
    except Exception as error:  # botocore failing on the answer itself
        raise BackupJobStartError(
            f"unusable answer: botocore could not read it ({type(error).__name__}: {error})"
        ) from error
    job_id = _text(response.get("BackupJobId")) if isinstance(response, dict) else None
    if job_id is None:
        raise BackupJobStartError(
            f"unusable answer: it has no BackupJobId ({answer_context(response)})"
        )
    return job_id


def wait_for_backup_job(
    client: Any,
    job_id: str,
    polling: Polling,
    progress: Progress,
    started: float | None = None,
) -> JobStatus:
    """Poll until a terminal state or the bound (counted from `started`, a time.monotonic()
    value, by default now). Returns the COMPLETED status; raises BackupJobError otherwise."""
    deadline = polling.deadline(time.monotonic() if started is None else started)
    last_state: str | None = None

    def waiting(seconds: float) -> None:
        progress(
            f"[backup] job {job_id}: DescribeBackupJob has not answered for {seconds:.1f} s "
            f"(elapsed {deadline.elapsed():.1f} s of {polling.timeout_seconds:g} s)"
        )

    for interval in polling.intervals():
        try:
            response = _bounded(
                lambda: client.describe_backup_job(BackupJobId=job_id),
                deadline.call_budget(),
                polling,
                waiting,
            )
            status = JobStatus.from_response(response, job_id, deadline.elapsed())
        except (ClientError, BotoCoreError, NoAnswerError, UnusableAnswer) as error:
            raise BackupJobPollError(
                job_id, last_state, deadline.elapsed(), _reason(error)
            ) from error
        last_state = status.state
        progress(progress_line(status, polling.timeout_seconds))
        if status.state == COMPLETED:
            return status
        if status.state in FAILED_STATES:
            raise BackupJobFailedError(status)
        remaining = deadline.remaining()
        if remaining <= 0:
            raise BackupJobTimeoutError(status, polling.timeout_seconds)
        # The last sleep ends at the bound, so the last look is taken there.
        time.sleep(min(interval, remaining))
    raise AssertionError("unreachable: intervals() never ends")


def run_backup_job(
    client: Any, request: BackupRequest, polling: Polling, progress: Progress
) -> JobStatus:
    started = time.monotonic()
    wait_until_no_active_job(client, request.resource_arn, polling, progress, started)
    job_id = start_backup_job(
        client,
        request,
        call_seconds=polling.deadline(started).call_budget(),
        progress=progress,
        every=polling.max_seconds,
    )
    progress(f"[backup] started job {job_id} of {request.resource_arn} into {request.vault_name}")
    return wait_for_backup_job(client, job_id, polling, progress, started)
