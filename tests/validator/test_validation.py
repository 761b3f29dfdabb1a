"""The validator's decisions against in-memory AWS: each store validated once, Aurora through
its instance's life, and every way a validation fails. The clock moves by the step delay
between steps, as the step queue's DelaySeconds would move it."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from dr_restore import metrics
from dr_restore.records import BUNDLE_ROOT, process
from dr_restore.validation import Services, StepNotSentError

from dr_common import aurora
from tests.validator.fakes import (
    BUCKET_ARN,
    CLUSTER_ARN,
    CLUSTER_ID,
    INSTANCE_ID,
    PLAN_ARN,
    T0,
    TABLE_ARN,
    FakeBackup,
    FakeLambda,
    FakeRds,
    World,
    canary_body,
    client_error,
    restore_job,
)
from tests.validator.support import ENV

WRITTEN = T0 - timedelta(minutes=55)  # the newest canary in the restored copy
CANARY_ITEM = {"id": {"S": "health-check#canary"}, "written_at": {"S": WRITTEN.isoformat()}}
TABLE, BUCKET = "awsbackup-restore-test-5e6f", "awsbackup-restore-test-7a8b"
MAX_STEPS = 50


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, tuple[float, str]]]]:
    """What metrics.publish was given (Powertools, which prints it, is in the bundle only)."""
    found: list[tuple[str, dict[str, tuple[float, str]]]] = []
    monkeypatch.setattr(
        metrics, "publish", lambda store, job_id, values: found.append((store, values))
    )
    return found


def run(world: World, event: str | None = None, delay: float = 60) -> None:
    """The event, then each step message as the queue would deliver it, until none is left."""
    services = Services(world.client, world.connect, world.clock)
    process(event or world.event(), services)
    for count, body in enumerate(world.sqs.take()):
        assert count < MAX_STEPS, "the validation never ended"
        world.clock.advance(delay)
        process(body, services)


def run_with(world: World, **environment: str) -> None:
    """`run`, with these variables added to the contract's environment."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        run(world)


def aurora_world(**rds: Any) -> World:
    world = World(FakeBackup(restore_job("Aurora", CLUSTER_ARN)), rds=FakeRds(**rds))
    world.rds.clusters[CLUSTER_ID] = ["creating", "available"]
    world.database_rows = [(WRITTEN,)]
    return world


def verdict(world: World) -> tuple[str, str]:
    [put] = world.backup.puts
    return put["ValidationStatus"], put["ValidationStatusMessage"]


def test_a_dynamodb_restore_is_read_and_reported_once(
    published: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    world = World(FakeBackup(restore_job("DynamoDB", TABLE_ARN)))
    world.dynamodb.items[TABLE] = CANARY_ITEM
    with caplog.at_level(logging.INFO, "dr_restore"):
        run(world)
    status, reason = verdict(world)
    assert status == "SUCCESSFUL"
    assert reason.startswith(
        "dynamodb: RPO 3300 s (target 7200 s, canary 2026-11-30T05:05:00.000+00:00), RTO 1800 s"
    )
    [(store, values)] = published
    assert store == "dynamodb"
    assert values == {
        "RestoreValidated": (1, "Count"),
        "RestoreRpoSeconds": (3300.0, "Seconds"),
        "RestoreRtoSeconds": (1800.0, "Seconds"),
        "RestoreJobSeconds": (1200.0, "Seconds"),
    }
    [line] = [r for r in caplog.records if r.getMessage() == "DR restore validation"]
    facts = line.verdict  # type: ignore[attr-defined]
    assert (
        facts["status"],
        facts["rpoSeconds"],
        facts["rtoSeconds"],
        facts["restoreJobSeconds"],
    ) == (
        "SUCCESSFUL",
        3300.0,
        1800.0,
        1200.0,
    )
    assert facts["canaryWrittenAt"] == WRITTEN.isoformat()
    assert facts["recoveryPointCreated"] == (T0 - timedelta(minutes=50)).isoformat()


def test_an_s3_restore_reads_the_object_the_template_names(published: list[Any]) -> None:
    world = World(FakeBackup(restore_job("S3", BUCKET_ARN)))
    world.s3.buckets.add(BUCKET)
    world.s3.objects[(BUCKET, "health-check/canary.json")] = canary_body(WRITTEN)
    run(world)
    assert verdict(world)[0] == "SUCCESSFUL"


def test_an_old_canary_fails_naming_the_store_and_the_measured_rpo(published: list[Any]) -> None:
    world = World(FakeBackup(restore_job("DynamoDB.FullyManaged", TABLE_ARN)))
    world.dynamodb.items[TABLE] = {
        **CANARY_ITEM,
        "written_at": {"S": (T0 - timedelta(hours=3)).isoformat()},
    }
    run(world)
    status, reason = verdict(world)
    assert status == "FAILED"
    assert reason.startswith("dynamodb: measured RPO 10800 s is over its target 7200 s")
    assert published[0][1]["RestoreValidated"] == (0, "Count")
    assert published[0][1]["RestoreRpoSeconds"] == (10800.0, "Seconds")


def test_no_canary_and_an_unreadable_store_fail_with_the_reason(published: list[Any]) -> None:
    missing = World(FakeBackup(restore_job("S3", BUCKET_ARN)))
    missing.s3.buckets.add(BUCKET)
    run(missing)
    assert verdict(missing) == (
        "FAILED",
        f"s3: no canary in the restored copy (bucket {BUCKET} has no object "
        "health-check/canary.json)",
    )
    gone = World(FakeBackup(restore_job("S3", BUCKET_ARN)))
    run(gone)
    assert verdict(gone) == (
        "FAILED",
        "s3: the restored bucket could not be read: NoSuchBucket: NoSuchBucket message",
    )
    assert [values["RestoreValidated"] for _, values in published] == [(0, "Count"), (0, "Count")]
    assert "RestoreRpoSeconds" not in published[1][1]


def test_a_failed_restore_job_is_counted_but_not_validated(
    published: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    world = World(
        FakeBackup(restore_job("Aurora", CLUSTER_ARN, Status="FAILED", StatusMessage="no subnet"))
    )
    with caplog.at_level(logging.INFO, "dr_restore"):
        run(world, world.event("FAILED"))
    assert world.backup.puts == []
    assert "PutRestoreValidationResult" not in world.backup.calls
    assert published == [
        ("aurora", {"RestoreValidated": (0, "Count"), "RestoreJobSeconds": (1200.0, "Seconds")})
    ]
    [line] = [r for r in caplog.records if r.getMessage() == "DR restore job failed"]
    assert line.statusMessage == "no subnet"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "plan"),
    [
        ("COMPLETED", "arn:aws:backup:us-east-1:123456789012:restore-testing-plan:other"),
        ("COMPLETED", None),  # an on-demand restore
        ("RUNNING", PLAN_ARN),
        ("CREATED", PLAN_ARN),
    ],
)
def test_other_plans_jobs_and_unfinished_jobs_are_left_alone(
    status: str, plan: str | None, published: list[Any]
) -> None:
    world = World(FakeBackup(restore_job("S3", BUCKET_ARN)))
    run(world, world.event(status, plan))
    assert world.backup.calls == [] and published == []


def test_a_job_the_event_misattributes_is_checked_against_describe(published: list[Any]) -> None:
    other = {
        "RestoreTestingPlanArn": "arn:aws:backup:us-east-1:123456789012:restore-testing-plan:x"
    }
    world = World(FakeBackup(restore_job("S3", BUCKET_ARN, CreatedBy=other)))
    run(world)
    assert world.backup.calls == ["DescribeRestoreJob"] and published == []


def test_a_job_validated_already_is_not_reported_again(published: list[Any]) -> None:
    world = World(FakeBackup(restore_job("DynamoDB", TABLE_ARN)))
    world.dynamodb.items[TABLE] = CANARY_ITEM
    run(world)
    run(world)  # EventBridge and SQS deliver at least once
    assert len(world.backup.puts) == 1
    assert len(published) == 1


def test_an_aurora_restore_is_read_through_an_instance_deleted_before_the_verdict(
    published: list[Any],
) -> None:
    world = aurora_world(instance_script=["creating", "creating", "available"], gone_after=2)
    run(world)
    operations = world.rds.operations()
    assert operations.count("CreateDBInstance") == 1
    [(_, create)] = [c for c in world.rds.calls if c[0] == "CreateDBInstance"]
    assert create == {
        "DBInstanceIdentifier": INSTANCE_ID,
        "DBClusterIdentifier": CLUSTER_ID,
        "DBInstanceClass": "db.t4g.medium",
        "Engine": "aurora-postgresql",
        "PubliclyAccessible": False,
        "Tags": [{"Key": "dr-restore-validation", "Value": "AB123456-78C9-0123-456D-789012E34567"}],
    }
    # Created only once the cluster was available; read through its endpoint with an IAM
    # token, TLS against the bundle's CA file; deleted, and gone, before the verdict.
    assert operations.index("CreateDBInstance") > 1
    [connection] = world.connections
    assert connection["host"] == f"{INSTANCE_ID}.example.internal"
    assert (connection["user"], connection["database"], connection["ca_file"]) == (
        "dr_validator",
        "drhealth",
        str(BUNDLE_ROOT / "rds-ca-bundle.pem"),
    )
    assert "X-Amz-Signature" in connection["password"]
    assert world.rds.instances == {}
    status, reason = verdict(world)
    assert status == "SUCCESSFUL", reason
    # RTO: from the job's creation (T0) to the read, 30 minutes later plus four step delays.
    assert published[0][1]["RestoreRtoSeconds"] == (1800.0 + 4 * 60, "Seconds")


def test_an_instance_never_available_fails_within_its_bound_and_is_deleted(
    published: list[Any],
) -> None:
    world = aurora_world(instance_script=["creating"])
    run(world, delay=600)
    assert world.rds.instances == {}
    assert world.connections == []
    status, reason = verdict(world)
    assert status == "FAILED"
    assert reason == (
        f"aurora: validation instance {INSTANCE_ID} not available within 1800 s (status creating)"
    )


def test_an_instance_whose_deletion_never_ends_fails_naming_it(published: list[Any]) -> None:
    world = aurora_world(gone_after=None)
    run(world, delay=300)
    status, reason = verdict(world)
    assert status == "FAILED"
    assert reason == (
        f"aurora: validation instance {INSTANCE_ID} still exists 1200 s after its deletion was "
        "asked (status deleting); AWS Backup cannot delete the restored cluster while it has an "
        "instance"
    )


def test_an_unexpected_error_half_way_still_deletes_the_instance_and_reports_once(
    published: list[Any],
) -> None:
    world = aurora_world()
    calls = 0
    original = world.rds.describe_db_instances

    def failing_second(**request: Any) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise client_error("InternalFailure", "DescribeDBInstances", 500)
        return original(**request)

    world.rds.describe_db_instances = failing_second  # type: ignore[method-assign]
    run(world)
    assert world.rds.instances == {}
    status, reason = verdict(world)
    assert (status, reason) == (
        "FAILED",
        "aurora: unexpected error (instance): InternalFailure: InternalFailure message",
    )


def test_a_database_that_refuses_fails_after_the_instance_is_gone(published: list[Any]) -> None:
    world = aurora_world()
    world.database_rows = Exception(
        {"S": "FATAL", "C": "28000", "M": 'PAM authentication failed for user "dr_validator"'}
    )
    run(world)
    assert world.rds.instances == {}
    assert verdict(world) == (
        "FAILED",
        "aurora: the restored database could not be read: 28000 PAM authentication failed "
        'for user "dr_validator"',
    )


def test_a_missing_cluster_fails_without_an_instance(published: list[Any]) -> None:
    world = aurora_world()
    world.rds.clusters.clear()
    run(world)
    assert "CreateDBInstance" not in world.rds.operations()
    assert verdict(world) == ("FAILED", f"aurora: restored cluster {CLUSTER_ID} not found")


def test_a_repeated_step_creates_no_second_instance_and_reports_once(published: list[Any]) -> None:
    world = aurora_world()
    services = Services(world.client, world.connect, world.clock)
    process(world.event(), services)
    while world.sqs.sent:
        body = world.sqs.sent.pop(0)["MessageBody"]
        world.clock.advance(60)
        process(body, services)
        process(body, services)  # SQS delivered it twice
    assert world.rds.operations().count("CreateDBInstance") == 1
    assert world.backup.calls.count("PutRestoreValidationResult") == 1
    assert world.rds.instances == {}
    assert len(published) == 1


def test_a_step_delivered_after_the_verdict_creates_nothing(published: list[Any]) -> None:
    world = aurora_world()
    run(world)
    first_step = world.sqs.history[0]["MessageBody"]
    assert json.loads(first_step)["phase"] == "cluster"
    calls = len(world.rds.calls)
    process(first_step, Services(world.client, world.connect, world.clock))
    assert world.rds.calls[calls:] == []
    assert world.backup.calls.count("PutRestoreValidationResult") == 1


def test_an_instance_created_meanwhile_by_a_racing_delivery_is_the_same_instance() -> None:
    rds = FakeRds()
    cluster = aurora.Cluster(CLUSTER_ID, "available", "aurora-postgresql")
    aurora.create_instance(rds, cluster, INSTANCE_ID, "db.t4g.medium", "job")
    aurora.create_instance(rds, cluster, INSTANCE_ID, "db.t4g.medium", "job")
    assert rds.operations() == ["CreateDBInstance", "CreateDBInstance"]
    assert list(rds.instances) == [INSTANCE_ID]


def test_a_verdict_that_cannot_be_sent_is_raised_and_sent_on_the_next_delivery(
    published: list[Any],
) -> None:
    world = World(FakeBackup(restore_job("DynamoDB", TABLE_ARN)))
    world.dynamodb.items[TABLE] = CANARY_ITEM
    world.backup.put_failures.append(
        client_error("ServiceUnavailableException", "PutRestoreValidationResult", 500)
    )
    services = Services(world.client, world.connect, world.clock)
    with pytest.raises(Exception, match="ServiceUnavailableException"):
        process(world.event(), services)
    assert published == []
    process(world.event(), services)  # SQS delivers the message again
    assert verdict(world)[0] == "SUCCESSFUL"
    assert world.backup.calls.count("PutRestoreValidationResult") == 2


def test_a_step_that_cannot_be_sent_is_raised(published: list[Any]) -> None:
    world = aurora_world()
    world.rds.clusters[CLUSTER_ID] = ["available"]
    world.sqs.failures.append(client_error("ServiceUnavailable", "SendMessage", 503))
    with pytest.raises(StepNotSentError, match="the instance step was not sent"):
        process(world.event(), Services(world.client, world.connect, world.clock))
    assert world.backup.puts == []


def test_an_instance_of_another_cluster_is_left_alone(published: list[Any]) -> None:
    world = aurora_world()
    world.rds.instances[INSTANCE_ID] = {
        "cluster": "prod-cluster",
        "script": ["available"],
        "deleting": None,
    }
    run(world)
    assert "DeleteDBInstance" not in world.rds.operations()
    status, reason = verdict(world)
    assert status == "FAILED"
    assert "belongs to cluster prod-cluster, not to the restored cluster" in reason


def test_unusable_settings_fail_a_completed_job_saying_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TARGET_RTO_SECONDS_S3", "soon")
    world = World(FakeBackup(restore_job("S3", BUCKET_ARN)))
    run(world)
    assert verdict(world) == (
        "FAILED",
        "validator misconfigured: TARGET_RTO_SECONDS_S3 must be a whole number, not 'soon'",
    )


def test_a_message_of_another_kind_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    world = World(FakeBackup(restore_job("S3", BUCKET_ARN)))
    with caplog.at_level(logging.ERROR, "dr_restore"):
        process(json.dumps({"hello": "world"}), Services(world.client, world.connect, world.clock))
    assert world.backup.calls == []
    assert "Dropped a message" in caplog.text


def test_a_validator_outside_the_vpc_reads_through_the_database_reader(
    published: list[Any],
) -> None:
    world = aurora_world()
    world.lambda_ = FakeLambda(
        lambda event: {
            "writtenAt": WRITTEN.isoformat(),
            "readAt": world.clock().isoformat(),
            "absent": "",
        }
    )
    run_with(world, DB_READER_FUNCTION="Dev-Service-RestoreReader")
    assert world.connections == []  # no connection of its own
    [invoked] = world.lambda_.invoked
    assert invoked == {
        "FunctionName": "Dev-Service-RestoreReader",
        "host": f"{INSTANCE_ID}.example.internal",
        "port": 5432,
    }
    assert verdict(world)[0] == "SUCCESSFUL"
    assert world.rds.instances == {}


def test_the_database_reader_s_error_is_the_reason(published: list[Any]) -> None:
    world = aurora_world()
    world.lambda_ = FakeLambda(lambda event: {"error": "28000 PAM authentication failed"})
    run_with(world, DB_READER_FUNCTION="reader")
    assert verdict(world) == (
        "FAILED",
        "aurora: the restored database could not be read: RuntimeError: 28000 PAM "
        "authentication failed",
    )
    assert world.rds.instances == {}
