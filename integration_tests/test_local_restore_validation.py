"""Local only: the restore validator, run from its bundle in its own process (the stand-in's
Lambda Invoke, driven by the step queue as Lambda's SQS mapping would drive it), judging real
restores. A store's recovery point holds its data as of the backup, and a canary written after
the backup is not in the restored copy: the measured RPO is the backed-up canary's age when
the restore job was created, not the live canary's. Every failure ends in exactly one
PutRestoreValidationResult (FAILED, with its one-line reason), and no validation instance is
left behind."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from integration_tests.local.restore_stage import LOCAL_WAITS, RestoreStage, Validation

STORES = ("dynamodb", "s3", "aurora")
INSTANCE_WAIT = float(LOCAL_WAITS["INSTANCE_WAIT_SECONDS"])
DELETE_WAIT = float(LOCAL_WAITS["INSTANCE_DELETE_WAIT_SECONDS"])
SLACK = 10.0  # seconds a loaded machine may add to a bound


@pytest.fixture(autouse=True)
def fresh(restore: RestoreStage) -> Iterator[None]:
    """Each test starts with no script or fault left by another, and leaves no instance."""
    restore.stage.standin.reset()
    yield
    assert restore.stage.standin.rds_instances() == []


def backed_up(restore: RestoreStage, store: str, canary: datetime | None) -> str:
    """A recovery point of the store holding the canary `canary` (None: no canary); a newer
    canary is written after it. Its ARN."""
    if canary is None:
        restore.delete_canary(store)
    else:
        restore.write_canary(store, canary)
    point = restore.back_up(store)
    restore.write_canary(store, datetime.now(UTC))  # after the backup: not in the copy
    return point


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)


def target(restore: RestoreStage, kind: str, store: str) -> float:
    return float(restore.function.environment[f"TARGET_{kind}_SECONDS_{store.upper()}"])


def failed(validation: Validation) -> str:
    assert validation.job["ValidationStatus"] == "FAILED", validation.job
    assert validation.metrics()["RestoreValidated"] == 0
    return str(validation.job["ValidationStatusMessage"])


def restored_name(job: dict[str, object]) -> str:
    return str(job["CreatedResourceArn"]).rsplit("/", 1)[-1].rsplit(":", 1)[-1]


@pytest.mark.parametrize("store", STORES)
def test_each_store_is_restored_as_of_its_backup_and_validated(
    restore: RestoreStage, store: str
) -> None:
    canary = minutes_ago(40)
    job_id = restore.restore_test(backed_up(restore, store, canary))
    validation = restore.validate(job_id)
    job, metrics = validation.job, validation.metrics()
    assert job["ValidationStatus"] == "SUCCESSFUL", job.get("ValidationStatusMessage")
    created, read_at = (
        job["CreationDate"],
        datetime.fromisoformat(validation.verdict["canaryReadAt"]),
    )
    # RPO from the backed-up canary (40 minutes before the job), not the newer live one.
    assert validation.verdict["canaryWrittenAt"] == canary.isoformat()
    assert metrics["RestoreRpoSeconds"] == pytest.approx(
        (created - canary).total_seconds(), abs=0.002
    )
    assert 40 * 60 <= metrics["RestoreRpoSeconds"] < 40 * 60 + SLACK
    assert metrics["RestoreRtoSeconds"] == pytest.approx(
        (read_at - created).total_seconds(), abs=0.002
    )
    assert 0 < metrics["RestoreRtoSeconds"] < 30
    assert metrics["RestoreJobSeconds"] == pytest.approx(
        (job["CompletionDate"] - created).total_seconds(), abs=0.002
    )
    assert metrics["RestoreValidated"] == 1
    # What the alarms and dashboard select: the namespace, `service` and `Store`.
    [emf] = [line for line in validation.log if "_aws" in line]
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "DisasterRecovery"
    assert [set(dimensions) for dimensions in directive["Dimensions"]] == [{"service", "Store"}]
    assert (emf["service"], emf["Store"]) == (
        restore.function.environment["POWERTOOLS_SERVICE_NAME"],
        store,
    )
    assert str(job["ValidationStatusMessage"]).startswith(f"{store}: RPO ")
    # Reported once, and only once the instance was gone: AWS Backup then deleted the copy.
    assert [p["status"] for p in restore.puts(job_id)] == [204]
    assert job["DeletionStatus"] == "SUCCESSFUL"


@pytest.mark.parametrize("store", STORES)
def test_a_canary_older_than_the_target_fails_naming_the_store_and_the_rpo(
    restore: RestoreStage, store: str
) -> None:
    rpo_target = target(restore, "RPO", store)
    canary = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=rpo_target + 600)
    job_id = restore.restore_test(backed_up(restore, store, canary))
    validation = restore.validate(job_id)
    reason = failed(validation)
    rpo = validation.metrics()["RestoreRpoSeconds"]
    assert rpo >= rpo_target + 600
    assert reason.startswith(
        f"{store}: measured RPO {rpo:.0f} s is over its target {rpo_target:.0f} s"
    )
    assert len(restore.puts(job_id)) == 1


@pytest.mark.parametrize(
    ("store", "where"),
    [
        ("dynamodb", "has no item health-check#canary"),
        ("s3", "has no object health-check/canary.json"),
        ("aurora", "table dr_canary is empty"),
    ],
)
def test_no_canary_in_the_restored_copy_fails(
    restore: RestoreStage, store: str, where: str
) -> None:
    job_id = restore.restore_test(backed_up(restore, store, None))
    reason = failed(restore.validate(job_id))
    assert reason.startswith(f"{store}: no canary in the restored copy (")
    assert where in reason
    assert len(restore.puts(job_id)) == 1


def test_a_restored_table_that_is_gone_fails(restore: RestoreStage) -> None:
    job_id = restore.restore_test(backed_up(restore, "dynamodb", minutes_ago(5)))
    name = restored_name(restore.describe(job_id))
    restore.stage.moto.client("dynamodb").delete_table(TableName=name)
    reason = failed(restore.validate(job_id))
    assert reason.startswith(
        "dynamodb: the restored table could not be read: ResourceNotFoundException"
    )


def test_a_restored_bucket_that_is_gone_fails(restore: RestoreStage) -> None:
    job_id = restore.restore_test(backed_up(restore, "s3", minutes_ago(5)))
    name = restored_name(restore.describe(job_id))
    s3 = restore.stage.moto.client("s3")
    s3.delete_object(Bucket=name, Key="health-check/canary.json")
    s3.delete_bucket(Bucket=name)
    reason = failed(restore.validate(job_id))
    assert reason == (
        "s3: the restored bucket could not be read: NoSuchBucket: "
        "The specified bucket does not exist"
    )


def test_a_restored_database_that_refuses_fails_and_its_instance_is_deleted(
    restore: RestoreStage,
) -> None:
    job_id = restore.restore_test(backed_up(restore, "aurora", minutes_ago(5)))
    restore.stage.data_plane.restored_server(restored_name(restore.describe(job_id))).stop()
    validation = restore.validate(job_id)
    reason = failed(validation)
    assert reason.startswith("aurora: the restored database could not be read: ")
    assert "Can't create a connection to host 127.0.0.1" in reason
    assert validation.job["DeletionStatus"] == "SUCCESSFUL"  # no instance held the cluster


def test_a_failed_restore_job_is_counted_and_not_validated(restore: RestoreStage) -> None:
    point = backed_up(restore, "dynamodb", minutes_ago(5))
    job_id = restore.restore_test(point, outcome="FAILED", message="Access denied to the KMS key")
    restore.esm.drain()
    job = restore.describe(job_id)
    assert job["Status"] == "FAILED" and "ValidationStatus" not in job
    assert restore.puts(job_id) == []
    [line] = [x for x in restore.job_log(job_id) if x.get("message") == "DR restore job failed"]
    assert (line["store"], line["statusMessage"]) == ("dynamodb", "Access denied to the KMS key")
    [emf] = [x for x in restore.job_log(job_id) if "_aws" in x]
    assert (emf["Store"], emf["RestoreValidated"]) == ("dynamodb", [0.0])
    # The events before it (RUNNING) were taken and left alone; CREATED carries no plan ARN,
    # so the rule never forwarded it.
    kinds = [
        d.kind
        for d in restore.esm.deliveries
        if d.body.get("detail", {}).get("restoreJobId") == job_id
    ]
    assert kinds == ["event:RUNNING", "event:FAILED"]


def test_an_instance_never_available_fails_within_its_bound_and_is_deleted(
    restore: RestoreStage,
) -> None:
    restore.stage.standin.script_next_cluster(instance_available_after=None)
    job_id = restore.restore_test(backed_up(restore, "aurora", minutes_ago(5)))
    started = time.monotonic()
    validation = restore.validate(job_id)
    seconds = time.monotonic() - started
    reason = failed(validation)
    assert reason.startswith("aurora: validation instance drv-")
    assert reason.endswith(f"not available within {INSTANCE_WAIT:.0f} s (status creating)")
    assert INSTANCE_WAIT <= seconds < INSTANCE_WAIT + DELETE_WAIT + SLACK
    assert validation.job["DeletionStatus"] == "SUCCESSFUL"
    assert len(restore.puts(job_id)) == 1


def test_an_instance_whose_deletion_never_ends_fails_naming_it(restore: RestoreStage) -> None:
    restore.stage.standin.script_next_cluster(instance_deleted_after=None)
    job_id = restore.restore_test(backed_up(restore, "aurora", minutes_ago(5)))
    validation = restore.validate(job_id)
    reason = failed(validation)
    assert (
        f"still exists {DELETE_WAIT:.0f} s after its deletion was asked (status deleting)" in reason
    )
    assert reason.endswith("AWS Backup cannot delete the restored cluster while it has an instance")
    # What that means: AWS Backup's clean-up is refused.
    assert validation.job["DeletionStatus"] == "FAILED"
    assert "still contains DB instances" in validation.job["DeletionStatusMessage"]
    restore.stage.standin.release_rds_instances()  # the test's own clean-up


def test_a_crash_half_way_still_deletes_the_instance_and_reports_once(
    restore: RestoreStage,
) -> None:
    """DescribeDBInstances fails three times (botocore's attempts) while the instance is
    being created: the validator reports FAILED with the error, after deleting it."""
    restore.stage.standin.script_next_cluster(instance_available_after=3)
    job_id = restore.restore_test(backed_up(restore, "aurora", minutes_ago(5)))
    # The cluster step looks for the instance once; the next look is the instance step's.
    restore.esm.poll()  # the RUNNING event
    restore.esm.poll()  # COMPLETED: cluster available, instance created, step sent
    restore.stage.standin.inject_crash(
        "DescribeDBInstances", count=3, principal=restore.keys.access_key_id
    )
    validation = restore.validate(job_id)
    reason = failed(validation)
    assert reason.startswith("aurora: unexpected error (instance): InternalFailure: stand-in bug")
    assert [p["status"] for p in restore.puts(job_id)] == [204]
    assert validation.job["DeletionStatus"] == "SUCCESSFUL"


def test_a_function_that_times_out_half_way_is_delivered_again_and_reports_once(
    restore: RestoreStage,
) -> None:
    """The first DescribeRestoreJob answer drips past the function's timeout: Lambda ends the
    invocation, the message comes back after its visibility timeout, and the second delivery
    validates."""
    function = restore.register(f"{restore.function.name}-short", timeout_seconds=3)
    mapping = restore.mapping(function.name)
    job_id = restore.restore_test(backed_up(restore, "dynamodb", minutes_ago(5)))
    mapping.poll()  # the RUNNING event: left alone, no AWS call
    restore.stage.standin.inject_drip(
        "DescribeRestoreJob", 0.5, principal=restore.keys.access_key_id
    )
    validation = restore.validate(job_id, esm=mapping, function=function)
    assert validation.job["ValidationStatus"] == "SUCCESSFUL", validation.job
    completed = [d for d in mapping.deliveries if d.kind == "event:COMPLETED"]
    assert [(d.receive_count, d.function_error) for d in completed] == [(1, "Unhandled"), (2, None)]
    assert completed[0].payload["errorType"] == "Sandbox.Timedout"
    assert [p["status"] for p in restore.puts(job_id)] == [204]


def test_a_verdict_the_service_refuses_is_sent_again_and_accepted_once(
    restore: RestoreStage,
) -> None:
    restore.stage.standin.inject_fault(
        "PutRestoreValidationResult",
        "ServiceUnavailableException",
        "try again",
        status=500,
        count=3,  # every attempt of the first delivery's call
        principal=restore.keys.access_key_id,
    )
    job_id = restore.restore_test(backed_up(restore, "s3", minutes_ago(5)))
    validation = restore.validate(job_id)
    assert validation.job["ValidationStatus"] == "SUCCESSFUL"
    assert [p["status"] for p in restore.puts(job_id)] == [500, 500, 500, 204]
    completed = [d for d in restore.esm.deliveries if d.kind == "event:COMPLETED"]
    assert [d.function_error for d in completed[-2:]] == ["Unhandled", None]


def test_a_repeated_event_is_validated_once(restore: RestoreStage) -> None:
    job_id = restore.restore_test(backed_up(restore, "dynamodb", minutes_ago(5)))
    restore.validate(job_id)
    # EventBridge delivers at least once: the same COMPLETED event again, later.
    [event] = [
        d.body
        for d in restore.esm.deliveries
        if d.kind == "event:COMPLETED" and d.body["detail"]["restoreJobId"] == job_id
    ]
    restore.stage.moto.client("sqs").send_message(
        QueueUrl=restore.queue_url, MessageBody=json.dumps(event)
    )
    restore.esm.drain()
    assert len(restore.puts(job_id)) == 1
    verdicts = [x for x in restore.job_log(job_id) if x.get("message") == "DR restore validation"]
    assert len(verdicts) == 1


def test_a_validator_outside_the_vpc_reads_through_the_database_reader(
    restore: RestoreStage,
) -> None:
    """DB_READER_FUNCTION set: the validator invokes the bundle's reader (which in AWS runs in
    the VPC) for the Aurora read, and judges what it answers."""
    reader = restore.register_reader(f"{restore.function.name}-reader")
    function = restore.register(
        f"{restore.function.name}-outside",
        DB_READER_FUNCTION=reader.name,
        AWS_ENDPOINT_URL_LAMBDA=restore.stage.standin_url,
    )
    mapping = restore.mapping(function.name)
    canary = minutes_ago(30)
    job_id = restore.restore_test(backed_up(restore, "aurora", canary))
    validation = restore.validate(job_id, esm=mapping, function=function)
    assert validation.job["ValidationStatus"] == "SUCCESSFUL", validation.job
    assert validation.verdict["canaryWrittenAt"] == canary.isoformat()
    invokes = restore.stage.standin.requests(restore.keys.access_key_id, "Invoke")
    assert [r["params"]["FunctionName"] for r in invokes] == [reader.name]
    assert validation.job["DeletionStatus"] == "SUCCESSFUL"


def test_each_step_waits_the_queues_delay_before_the_next_runs(restore: RestoreStage) -> None:
    """The other tests send steps without delay (STEP_DELAY_SECONDS 0, for speed); in AWS it
    is 60 s. With 1 s, moto's queue holds each step back that long before the next runs."""
    function = restore.register(f"{restore.function.name}-delayed", STEP_DELAY_SECONDS="1")
    mapping = restore.mapping(function.name)
    job_id = restore.restore_test(backed_up(restore, "aurora", minutes_ago(30)))
    validation = restore.validate(job_id, esm=mapping, function=function)
    assert validation.job["ValidationStatus"] == "SUCCESSFUL", validation.job
    # The logger's lines (the metrics line has no timestamp), in order.
    log = [x for x in restore.job_log(job_id, function) if "timestamp" in x]
    moments = [datetime.strptime(x["timestamp"], "%Y-%m-%d %H:%M:%S,%f%z") for x in log]
    sent = [i for i, x in enumerate(log) if x.get("message") == "Next validation step sent"]
    assert sent, log
    for i in sent:
        assert i + 1 < len(log), log
        assert (moments[i + 1] - moments[i]).total_seconds() >= 0.9, (log[i], log[i + 1])
