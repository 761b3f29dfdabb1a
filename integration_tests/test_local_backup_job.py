"""Local only: the backup poll loop (backup_job.py) against the stand-in, with small
intervals: its backoff, its hard bound, its progress lines, each way a job can end, the API
errors and unusable or dripped answers it meets, and its wait for the table to be free of
other backup jobs. Timing checks have tight lower bounds (they prove the backoff and the
bound) and loose upper ones (a loaded 2-core CI machine is slow, never early)."""

from __future__ import annotations

import itertools
import logging
import re
import socket
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import boto3
import pytest
from botocore.exceptions import ClientError

from integration_tests.backup_job import (
    BackupJobFailedError,
    BackupJobPollError,
    BackupJobStartError,
    BackupJobTimeoutError,
    BackupRequest,
    BackupTableBusyError,
    BackupTableCheckError,
    Polling,
    run_backup_job,
    start_backup_job,
    wait_for_backup_job,
)
from integration_tests.local.harness import (
    BACKUP_ROLE_ARN,
    FUNCTION_NAME,
    REGION,
    VAULT_NAME,
    LocalStage,
)
from integration_tests.standin import Keys
from integration_tests.target import BACKUP_CONFIG, Target

FAST = Polling(timeout_seconds=5, initial_seconds=0.05, max_seconds=0.2)
SLACK = 1.0  # seconds a loaded machine (make test runs two chains at once) may add
POLL_STATE = re.compile(r"^\[backup\] job \S+: (\w+) ")


@pytest.fixture
def keys(local_stage: LocalStage) -> Keys:
    """A key of this test's own: the stand-in scopes scripts, faults and records to it."""
    return local_stage.standin.new_keys()


def client(endpoint_url: str, keys: Keys, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=keys.access_key_id,
        aws_secret_access_key=keys.secret_access_key,
        config=BACKUP_CONFIG,  # test_backup.py's: 3 attempts
    )


@pytest.fixture
def backup(local_stage: LocalStage, keys: Keys) -> Any:
    return client(local_stage.standin_url, keys, "backup")


@pytest.fixture
def request_(target: Target) -> BackupRequest:
    return BackupRequest(
        target.vault_name, target.table_arn, target.backup_role_arn, target.backup.retention_days
    )


def describe_times(stage: LocalStage, keys: Keys) -> list[float]:
    return [r["time"] for r in stage.standin.requests(keys.access_key_id, "DescribeBackupJob")]


def polled_states(lines: list[str]) -> list[str]:
    return [match[1] for line in lines if (match := POLL_STATE.match(line))]


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
    # Never shorter than the interval (the backoff doubles up to its cap), and not so much
    # longer that an uncapped 0.4 or 0.8 would pass.
    for gap, expected in zip(gaps, [0.05, 0.1, 0.2, 0.2, 0.2], strict=True):
        assert expected - 0.01 <= gap <= expected + SLACK, gaps
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
    # Long enough for a loaded machine to describe it twice: CREATED, then RUNNING.
    bound = Polling(timeout_seconds=1.5, initial_seconds=0.05, max_seconds=0.2)
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(BackupJobTimeoutError) as raised:
        run_backup_job(backup, request_, bound, lines.append)
    seconds = time.monotonic() - started
    # Not before the bound; the last sleep is cut short at it, so only the last call's time
    # (and a loaded machine's) comes on top.
    assert 1.5 <= seconds < 1.5 + 3 * SLACK
    status = raised.value.status
    assert status.state == "RUNNING"
    assert 1.5 <= status.elapsed_seconds < 1.5 + 3 * SLACK
    message = str(raised.value)
    assert f"backup job {status.job_id} still RUNNING (37.0% done) after " in message
    assert "past the 1.5 s bound" in message
    assert lines[-1].endswith(" s of 1.5 s)")


def test_a_job_never_started_fails_at_the_bound_saying_so(
    local_stage: LocalStage, keys: Keys, backup: Any, request_: BackupRequest
) -> None:
    local_stage.standin.script_next_job("CREATED", principal=keys.access_key_id)
    bound = Polling(timeout_seconds=0.3, initial_seconds=0.05, max_seconds=0.2)
    lines: list[str] = []
    with pytest.raises(BackupJobTimeoutError) as raised:
        run_backup_job(backup, request_, bound, lines.append)
    status = raised.value.status
    assert set(polled_states(lines)) == {"CREATED"}
    assert str(raised.value).startswith(
        f"backup job {status.job_id} still CREATED after {status.elapsed_seconds:.1f} s, "
        "past the 0.3 s bound: AWS Backup had not started it (an on-demand job may wait up to "
        "its StartWindowMinutes, 60, to start)"
    )


@pytest.mark.parametrize(
    "states",
    [
        ["CREATED", "PENDING", "RUNNING", "COMPLETED"],
        ["CREATED", "PENDING", "RUNNING", "ABORTING", "ABORTED"],
    ],
    ids=["completed", "aborted"],
)
def test_states_that_are_not_terminal_are_polled_through(
    local_stage: LocalStage, keys: Keys, backup: Any, request_: BackupRequest, states: list[str]
) -> None:
    outcome = states[-1]
    local_stage.standin.script_next_job(
        outcome, polls=len(states), principal=keys.access_key_id, pending=True
    )
    lines: list[str] = []
    if outcome == "COMPLETED":
        assert run_backup_job(backup, request_, FAST, lines.append).state == "COMPLETED"
    else:
        with pytest.raises(BackupJobFailedError) as raised:
            run_backup_job(backup, request_, FAST, lines.append)
        assert raised.value.status.state == outcome  # not ABORTING: that one is polled again
        assert f" ended {outcome} after " in str(raised.value)
    assert polled_states(lines) == states


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
    with pytest.raises(BackupJobFailedError) as raised:
        run_backup_job(backup, short, FAST, lambda line: None)
    status = raised.value.status
    assert status.state == "FAILED"
    assert str(raised.value).startswith(f"backup job {status.job_id} ended FAILED after ")
    assert str(raised.value).endswith(f" s: {status.status_message}")
    # The stand-in's own wording (AWS does not document the text), passed through unchanged.
    assert "shorter than the minimum retention of 7 days" in status.status_message


def test_an_unknown_vault_fails_the_start(backup: Any, request_: BackupRequest) -> None:
    missing = BackupRequest("no-such-vault", request_.resource_arn, request_.iam_role_arn, 7)
    with pytest.raises(BackupJobStartError, match="ResourceNotFoundException: Backup vault"):
        start_backup_job(backup, missing)


def test_an_unknown_job_is_not_found(backup: Any) -> None:
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        backup.describe_backup_job(BackupJobId="00000000-0000-0000-0000-000000000000")


class DescribeFault(NamedTuple):
    code: str
    message: str
    after_polls: int  # successful DescribeBackupJob calls before it
    last_state: str  # as the error names it


DESCRIBE_FAULTS = {
    # The role-chained session's hour ended mid-wait.
    "expired-token": DescribeFault(
        "ExpiredTokenException",
        "The security token included in the request is expired",
        2,
        "RUNNING",
    ),
    "access-denied": DescribeFault(
        "AccessDeniedException",
        "User is not authorized to perform: backup:DescribeBackupJob",
        0,
        "no state yet",
    ),
}


@pytest.mark.parametrize("fault", DESCRIBE_FAULTS.values(), ids=DESCRIBE_FAULTS.keys())
def test_a_describe_error_botocore_does_not_retry_fails_naming_the_job_and_its_last_state(
    local_stage: LocalStage, keys: Keys, backup: Any, request_: BackupRequest, fault: DescribeFault
) -> None:
    code, message, after_polls, last_state = fault
    lines: list[str] = []

    def progress(line: str) -> None:
        # Called after the start and after each poll: the fault hits the next poll. Lines of
        # a slow call (a loaded machine) are not polls.
        if " has not answered for " in line:
            return
        lines.append(line)
        if len(lines) == 1 + after_polls:
            local_stage.standin.inject_fault(
                "DescribeBackupJob", code, message, status=403, principal=keys.access_key_id
            )

    with pytest.raises(BackupJobPollError) as raised:
        run_backup_job(backup, request_, FAST, progress)
    error = raised.value
    assert lines[0].startswith(f"[backup] started job {error.job_id} ")
    assert re.fullmatch(
        rf"DescribeBackupJob of backup job {error.job_id} failed after \d+\.\d s "
        rf"\(last state: {last_state}\): {code}: {re.escape(message)}",
        str(error),
    ), str(error)
    statuses = [
        r["status"] for r in local_stage.standin.requests(keys.access_key_id, "DescribeBackupJob")
    ]
    assert statuses == [200] * after_polls + [403]  # not retried: it fails at once


def test_a_connection_failure_on_describe_fails_naming_the_job(keys: Keys) -> None:
    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    unreachable = client(f"http://127.0.0.1:{port}", keys, "backup")
    with pytest.raises(BackupJobPollError) as raised:
        wait_for_backup_job(unreachable, "JOB-1", FAST, lambda line: None)
    assert str(raised.value).startswith("DescribeBackupJob of backup job JOB-1 failed after "), (
        raised.value
    )
    assert "(last state: no state yet): EndpointConnectionError: " in str(raised.value)


# service -> the operation made to crash, and the code AWS answers its own failure with
CRASHES = {
    "backup": ("DescribeBackupVault", "InternalFailure"),  # rest-json
    "rds": ("DescribeDBClusters", "InternalFailure"),  # query (XML)
    "lambda": ("Invoke", "ServiceException"),  # rest-json, Lambda's modeled 500
}


@pytest.mark.parametrize("service", CRASHES)
def test_a_stand_in_bug_is_answered_as_a_500_in_the_protocols_shape(
    local_stage: LocalStage, keys: Keys, caplog: pytest.LogCaptureFixture, service: str
) -> None:
    # Not a dropped connection, which botocore would retry as a network error: an error
    # answer botocore parses, retries as a 5xx (3 attempts in all) and then raises.
    operation, code = CRASHES[service]
    local_stage.standin.inject_crash(operation, count=3, principal=keys.access_key_id)
    aws = client(local_stage.standin_url, keys, service)
    calls_by_service: dict[str, Callable[[], Any]] = {
        "backup": lambda: aws.describe_backup_vault(BackupVaultName=VAULT_NAME),
        "rds": lambda: aws.describe_db_clusters(DBClusterIdentifier="awsbackup-restore-test-1"),
        "lambda": lambda: aws.invoke(FunctionName=FUNCTION_NAME),
    }
    call = calls_by_service[service]
    with caplog.at_level(logging.ERROR), pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response
    assert error["Error"]["Code"] == code
    assert error["Error"]["Message"].startswith("stand-in bug: RuntimeError: injected crash")
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
    records = local_stage.standin.requests(keys.access_key_id, operation)
    assert [(r["status"], r["error_code"]) for r in records] == [(500, code)] * 3
    assert any(r.exc_info and operation.lower() in r.getMessage().lower() for r in caplog.records)


def test_a_server_error_is_retried_and_the_token_starts_one_job(
    local_stage: LocalStage, keys: Keys, backup: Any, request_: BackupRequest
) -> None:
    local_stage.standin.inject_fault(
        "StartBackupJob",
        "ServiceUnavailableException",
        "try again",
        status=500,  # the AWS Backup API reference's status for it
        principal=keys.access_key_id,
    )
    first = start_backup_job(backup, request_)
    assert start_backup_job(backup, request_) == first  # the same token: the same job
    starts = local_stage.standin.requests(keys.access_key_id, "StartBackupJob")
    assert [r["status"] for r in starts] == [500, 200, 200]
    assert {r["params"]["IdempotencyToken"] for r in starts} == {request_.idempotency_token}


def started_job_id(line: str) -> str:
    match = re.match(r"^\[backup\] started job (\S+) ", line)
    assert match, line
    return match[1]


def one_line(error: BaseException) -> str:
    message = str(error)
    assert "\n" not in message, message
    return message


# name -> (the raw body DescribeBackupJob answers with, its content type, what the error says);
# "{job}" is replaced by the job's id. Shapes from the API reference: DescribeBackupJob's
# output has BackupJobId and State.
UNUSABLE_ANSWERS = {
    "no-state": ('{"BackupJobId": "{job}"}', "application/json", "it has no State"),
    "no-job-id": ('{"State": "RUNNING"}', "application/json", "it has no BackupJobId"),
    "another-job": (
        '{"BackupJobId": "OTHER-JOB", "State": "COMPLETED"}',
        "application/json",
        "it describes job OTHER-JOB instead",
    ),
    "state-not-text": ('{"BackupJobId": "{job}", "State": 5}', "application/json", "no State"),
    # botocore itself fails on these (TypeError, AttributeError): measured with botocore 1.44.
    "json-null": ("null", "application/json", "botocore could not read it (TypeError: "),
    "json-list": ("[]", "application/json", "botocore could not read it (AttributeError: "),
    # An HTML page with HTTP 200 (e.g. a captive proxy): botocore returns no fields at all.
    "html-page": (
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        "text/html",
        "it has no BackupJobId (HTTP 200, Content-Type text/html, request id ",
    ),
}


@pytest.mark.parametrize("answer", UNUSABLE_ANSWERS.values(), ids=UNUSABLE_ANSWERS.keys())
def test_an_unusable_describe_answer_fails_in_one_line_naming_the_job(
    local_stage: LocalStage,
    keys: Keys,
    backup: Any,
    request_: BackupRequest,
    answer: tuple[str, str, str],
) -> None:
    body, content_type, says = answer
    lines: list[str] = []

    def progress(line: str) -> None:
        # The start line, then one per poll: the second poll gets the unusable answer. A
        # loaded machine may add "has not answered for ..." lines of a slow call in between.
        if " has not answered for " in line:
            return
        lines.append(line)
        if len(lines) == 2:
            local_stage.standin.inject_answer(
                "DescribeBackupJob",
                body.replace("{job}", started_job_id(lines[0])),
                content_type=content_type,
                principal=keys.access_key_id,
            )

    with pytest.raises(BackupJobPollError) as raised:
        run_backup_job(backup, request_, FAST, progress)
    message = one_line(raised.value)
    job_id = started_job_id(lines[0])
    assert message.startswith(f"DescribeBackupJob of backup job {job_id} failed after "), message
    assert "(last state: CREATED): unusable answer: " in message, message
    assert says in message, message


def test_an_unusable_start_answer_fails_the_start_in_one_line(
    local_stage: LocalStage, keys: Keys, backup: Any, request_: BackupRequest
) -> None:
    local_stage.standin.inject_answer("StartBackupJob", "null", principal=keys.access_key_id)
    with pytest.raises(BackupJobStartError) as raised:
        run_backup_job(backup, request_, FAST, lambda line: None)
    assert one_line(raised.value).startswith(
        "StartBackupJob failed: unusable answer: botocore could not read it (TypeError: "
    )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0.0, -1.0])
@pytest.mark.parametrize("field_", ["timeout_seconds", "initial_seconds", "call_seconds"])
def test_a_poll_refuses_bounds_that_are_not_finite_and_positive(value: float, field_: str) -> None:
    with pytest.raises(ValueError, match=r"must be a finite number above 0, not "):
        Polling(**{"timeout_seconds": 5.0, field_: value})


# A DescribeBackupJob answer is ~700 bytes: dripped a byte every 50 ms it takes ~35 s, each
# byte well inside botocore's 10 s read timeout.
DRIP_SECONDS = 0.05
DRIPPING = Polling(timeout_seconds=0.5, initial_seconds=0.05, max_seconds=0.2, call_seconds=1.0)


def test_a_dripped_describe_answer_cannot_hold_the_poll_past_its_bound(
    local_stage: LocalStage, keys: Keys, backup: Any, request_: BackupRequest
) -> None:
    local_stage.standin.inject_drip("DescribeBackupJob", DRIP_SECONDS, principal=keys.access_key_id)
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(BackupJobPollError) as raised:
        run_backup_job(backup, request_, DRIPPING, lines.append)
    seconds = time.monotonic() - started
    # The promise: at most the bound plus one call's budget after the start, whatever the
    # server does; here the first look's budget (1 s) runs out first.
    assert 1.0 <= seconds < DRIPPING.timeout_seconds + DRIPPING.call_seconds + SLACK, seconds
    job_id = started_job_id(next(line for line in lines if " started job " in line))
    assert re.fullmatch(
        rf"DescribeBackupJob of backup job {job_id} failed after [\d.]+ s \(last state: no "
        r"state yet\): no answer within 1\.0 s \(the call was abandoned\)",
        one_line(raised.value),
    ), raised.value
    # Waiting for the answer shows progress too.
    assert any(" DescribeBackupJob has not answered for " in line for line in lines), lines


def test_a_dripped_start_answer_fails_the_start_at_its_budget(
    local_stage: LocalStage, keys: Keys, backup: Any, request_: BackupRequest
) -> None:
    local_stage.standin.inject_drip("StartBackupJob", DRIP_SECONDS, principal=keys.access_key_id)
    started = time.monotonic()
    with pytest.raises(BackupJobStartError) as raised:
        run_backup_job(backup, request_, DRIPPING, lambda line: None)
    assert time.monotonic() - started < DRIPPING.call_seconds + SLACK
    assert one_line(raised.value) == (
        "StartBackupJob failed: no answer within 1.0 s (the call was abandoned); a job may "
        f"have been started (IdempotencyToken {request_.idempotency_token})"
    )


def test_a_job_started_while_a_plan_job_holds_the_table_expires(
    local_stage: LocalStage, keys: Keys, backup: Any, target: Target, request_: BackupRequest
) -> None:
    """The collision the wait below avoids, as the stand-in models it: one backup job per
    resource, and the one that cannot start in its window ends EXPIRED."""
    local_stage.standin.add_plan_job(
        target.table_arn, VAULT_NAME, BACKUP_ROLE_ARN, principal=keys.access_key_id, listings=99
    )
    job_id = start_backup_job(backup, request_)
    with pytest.raises(BackupJobFailedError) as raised:
        wait_for_backup_job(backup, job_id, FAST, lambda line: None)
    assert raised.value.status.state == "EXPIRED"
    assert str(raised.value).endswith(
        ": Backup job failed because there was a running job for the same resource."
    )


def test_the_job_starts_only_once_no_other_job_of_the_table_is_active(
    local_stage: LocalStage, keys: Keys, backup: Any, target: Target, request_: BackupRequest
) -> None:
    plan_job = local_stage.standin.add_plan_job(
        target.table_arn, VAULT_NAME, BACKUP_ROLE_ARN, principal=keys.access_key_id, listings=2
    )
    lines: list[str] = []
    status = run_backup_job(backup, request_, FAST, lines.append)
    assert status.state == "COMPLETED"
    waiting = [line for line in lines if line.startswith("[backup] waiting: ")]
    assert len(waiting) == 2, lines
    # The other job named, and told apart from the release's: a plan's, not on demand.
    assert (
        f"has active backup jobs: {plan_job} (RUNNING, plan standin-snapshot-plan)" in (waiting[0])
    )
    records = local_stage.standin.requests(keys.access_key_id)
    [start] = [i for i, r in enumerate(records) if r["operation"] == "StartBackupJob"]
    lists = [r for r in records[:start] if r["operation"] == "ListBackupJobs"]
    # One query per active state per look, each for this table; the last look found none.
    assert {r["params"]["query"]["state"] for r in lists} == {
        "CREATED",
        "PENDING",
        "RUNNING",
        "ABORTING",
    }
    assert {r["params"]["query"]["resourceArn"] for r in lists} == {target.table_arn}
    assert len(lists) == 3 * 4


def test_a_table_still_busy_at_the_bound_fails_without_starting_a_job(
    local_stage: LocalStage, keys: Keys, backup: Any, target: Target, request_: BackupRequest
) -> None:
    plan_job = local_stage.standin.add_plan_job(
        target.table_arn,
        VAULT_NAME,
        BACKUP_ROLE_ARN,
        principal=keys.access_key_id,
        state="CREATED",
        listings=1000,
    )
    bound = Polling(timeout_seconds=0.5, initial_seconds=0.05, max_seconds=0.2)
    started = time.monotonic()
    with pytest.raises(BackupTableBusyError) as raised:
        run_backup_job(backup, request_, bound, lambda line: None)
    assert 0.5 <= time.monotonic() - started < 0.5 + 3 * SLACK
    assert re.fullmatch(
        rf"{re.escape(target.table_arn)} still had active backup jobs after [\d.]+ s, past the "
        rf"0\.5 s bound: {plan_job} \(CREATED, plan standin-snapshot-plan\); no job was "
        r"started \(AWS Backup runs one backup job per resource at a time\)",
        one_line(raised.value),
    ), raised.value
    assert not local_stage.standin.requests(keys.access_key_id, "StartBackupJob")


def test_an_unusable_listing_fails_naming_the_table(
    local_stage: LocalStage, keys: Keys, backup: Any, target: Target, request_: BackupRequest
) -> None:
    local_stage.standin.inject_answer("ListBackupJobs", "null", principal=keys.access_key_id)
    with pytest.raises(BackupTableCheckError) as raised:
        run_backup_job(backup, request_, FAST, lambda line: None)
    assert one_line(raised.value).startswith(f"ListBackupJobs of {target.table_arn} failed after ")
    assert ": unusable answer: botocore could not read it (TypeError: " in str(raised.value)
