"""Local only: the stand-in's AWS Backup restore jobs and its RDS for restored clusters, as
botocore sees them: shapes, states and errors of StartRestoreJob, DescribeRestoreJob,
GetRestoreJobMetadata, PutRestoreValidationResult, DescribeDBClusters, CreateDBInstance,
DescribeDBInstances and DeleteDBInstance, and the restore job events the stage's rule sends
to the step queue. What the validator builds on, checked on its own."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from integration_tests.local.harness import REGION
from integration_tests.local.restore_stage import PLAN_ARN, RESTORE_ROLE_ARN, RestoreStage


@pytest.fixture
def rds(restore: RestoreStage) -> Any:
    return boto3.client(
        "rds",
        endpoint_url=restore.stage.standin_url,
        region_name=REGION,
        aws_access_key_id=restore.tester.access_key_id,
        aws_secret_access_key=restore.tester.secret_access_key,
    )


def code(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = error.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def queued(restore: RestoreStage) -> list[dict[str, Any]]:
    """The events on the step queue, taken off it."""
    sqs = restore.stage.moto.client("sqs")
    found = []
    while messages := sqs.receive_message(
        QueueUrl=restore.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages"):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=restore.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_an_on_demand_restore_returns_the_table_as_of_its_backup(restore: RestoreStage) -> None:
    then = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    restore.write_canary("dynamodb", then)
    point = restore.back_up("dynamodb")
    restore.write_canary("dynamodb", datetime.now(UTC))
    queued(restore)
    started = restore.backup.start_restore_job(
        RecoveryPointArn=point,
        Metadata={"targetTableName": "dr-local-on-demand"},
        IamRoleArn=RESTORE_ROLE_ARN,
        IdempotencyToken="once",
    )
    again = restore.backup.start_restore_job(
        RecoveryPointArn=point, Metadata={"targetTableName": "x"}, IdempotencyToken="once"
    )
    assert again["RestoreJobId"] == started["RestoreJobId"]
    job = restore.describe(started["RestoreJobId"])
    assert (job["Status"], job["ResourceType"], job["RecoveryPointArn"]) == (
        "COMPLETED",
        "DynamoDB",
        point,
    )
    assert job["CreatedResourceArn"].endswith(":table/dr-local-on-demand")
    assert "CreatedBy" not in job and "DeletionStatus" not in job
    item = restore.stage.moto.client("dynamodb").get_item(
        TableName="dr-local-on-demand", Key={"id": {"S": "health-check#canary"}}
    )["Item"]
    assert item["written_at"]["S"] == then.isoformat(timespec="milliseconds")
    # Not a restore testing plan's job: the stage's rule forwards none of its events.
    assert queued(restore) == []


def test_start_restore_job_refuses_what_the_reference_says(restore: RestoreStage) -> None:
    point = restore.back_up("s3")
    with pytest.raises(ClientError) as unknown:
        restore.backup.start_restore_job(RecoveryPointArn=point + "0", Metadata={"a": "b"})
    assert code(unknown)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as nameless:
        restore.backup.start_restore_job(RecoveryPointArn=point, Metadata={"newBucket": "true"})
    assert code(nameless)[0] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as other_type:
        restore.backup.start_restore_job(
            RecoveryPointArn=point, Metadata={"destinationBucketName": "b"}, ResourceType="DynamoDB"
        )
    assert code(other_type)[0] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as missing:
        restore.backup.describe_restore_job(RestoreJobId="0F00BA12-0000-0000-0000-000000000000")
    assert code(missing)[0] == "ResourceNotFoundException"


def test_a_plan_s_restore_job_its_metadata_events_and_validation(restore: RestoreStage) -> None:
    point = restore.back_up("s3")
    queued(restore)
    job_id = restore.restore_test(point)
    job = restore.describe(job_id)
    assert job["CreatedBy"] == {"RestoreTestingPlanArn": PLAN_ARN}
    name = job["CreatedResourceArn"].removeprefix("arn:aws:s3:::")
    assert name.startswith("awsbackup-restore-test-")
    metadata = restore.backup.get_restore_job_metadata(RestoreJobId=job_id)["Metadata"]
    assert metadata["destinationBucketName"] == name and metadata["newBucket"] == "true"
    # CREATED carries `state` and no plan ARN (AWS's example), so the rule drops it; later
    # states carry `status` and the plan ARN.
    events = queued(restore)
    assert [e["detail"]["status"] for e in events] == ["RUNNING", "COMPLETED"]
    completed = events[-1]
    assert (completed["source"], completed["detail-type"]) == (
        "aws.backup",
        "Restore Job State Change",
    )
    assert completed["resources"] == [point]
    assert completed["detail"]["createdResourceArn"] == job["CreatedResourceArn"]
    assert completed["detail"]["restoreTestingPlanArn"] == PLAN_ARN

    backup = restore.backup
    with pytest.raises(ClientError) as bad:
        backup.put_restore_validation_result(RestoreJobId=job_id, ValidationStatus="SKIPPED")
    assert code(bad)[0] == "InvalidParameterValueException"
    backup.put_restore_validation_result(RestoreJobId=job_id, ValidationStatus="VALIDATING")
    answer = backup.put_restore_validation_result(
        RestoreJobId=job_id, ValidationStatus="SUCCESSFUL", ValidationStatusMessage="fine"
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as final:
        backup.put_restore_validation_result(RestoreJobId=job_id, ValidationStatus="FAILED")
    assert code(final)[0] == "InvalidRequestException"
    job = restore.describe(job_id)
    assert (job["ValidationStatus"], job["ValidationStatusMessage"]) == ("SUCCESSFUL", "fine")
    # AWS Backup then deletes what the test restored.
    assert job["DeletionStatus"] == "SUCCESSFUL"
    with pytest.raises(ClientError):
        restore.stage.moto.client("s3").head_bucket(Bucket=name)


def test_a_failed_restore_job_cannot_be_validated(restore: RestoreStage) -> None:
    job_id = restore.restore_test(restore.back_up("dynamodb"), outcome="ABORTED")
    job = restore.describe(job_id)
    assert (job["Status"], job["StatusMessage"]) == ("ABORTED", "Restore job was aborted")
    assert "CreatedResourceArn" not in job
    with pytest.raises(ClientError) as refused:
        restore.backup.put_restore_validation_result(RestoreJobId=job_id, ValidationStatus="FAILED")
    assert code(refused)[0] == "InvalidRequestException"
    queued(restore)


def test_a_restored_cluster_and_its_instance_follow_their_script(
    restore: RestoreStage, rds: Any
) -> None:
    restore.stage.standin.script_next_cluster(
        available_after=1, instance_available_after=2, instance_deleted_after=1
    )
    job = restore.describe(restore.restore_test(restore.back_up("aurora")))
    cluster = job["CreatedResourceArn"].rsplit(":", 1)[1]
    queued(restore)
    [found] = rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"]
    assert (found["Status"], found["Engine"], found["IAMDatabaseAuthenticationEnabled"]) == (
        "creating",
        "aurora-postgresql",
        True,
    )
    create = {
        "DBInstanceIdentifier": "drv-script",
        "DBClusterIdentifier": cluster,
        "DBInstanceClass": "db.t4g.medium",
        "Engine": "aurora-postgresql",
    }
    with pytest.raises(ClientError) as early:
        rds.create_db_instance(**create)
    assert code(early) == ("InvalidDBClusterStateFault", 400)
    assert (
        rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0]["Status"]
        == "available"
    )
    created = rds.create_db_instance(**create, Tags=[{"Key": "k", "Value": "v"}])["DBInstance"]
    assert (created["DBInstanceStatus"], created.get("Endpoint")) == ("creating", None)
    with pytest.raises(ClientError) as twice:
        rds.create_db_instance(**create)
    assert code(twice) == ("DBInstanceAlreadyExists", 400)

    def status() -> str:
        return str(
            rds.describe_db_instances(DBInstanceIdentifier="drv-script")["DBInstances"][0][
                "DBInstanceStatus"
            ]
        )

    assert status() == "creating"
    [instance] = rds.describe_db_instances(DBInstanceIdentifier="drv-script")["DBInstances"]
    assert instance["DBInstanceStatus"] == "available"
    assert instance["Endpoint"]["Address"] == "127.0.0.1"
    assert instance["Endpoint"]["Port"] == restore.stage.data_plane.restored_server(cluster).port
    assert instance["TagList"] == [{"Key": "k", "Value": "v"}]
    rds.delete_db_instance(DBInstanceIdentifier="drv-script", SkipFinalSnapshot=True)
    with pytest.raises(ClientError) as deleting:
        rds.delete_db_instance(DBInstanceIdentifier="drv-script", SkipFinalSnapshot=True)
    assert code(deleting) == ("InvalidDBInstanceState", 400)
    assert status() == "deleting"
    with pytest.raises(ClientError) as gone:
        status()
    assert code(gone) == ("DBInstanceNotFound", 404)
    with pytest.raises(ClientError) as no_cluster:
        rds.describe_db_clusters(DBClusterIdentifier="awsbackup-restore-test-nothere")
    assert code(no_cluster) == ("DBClusterNotFoundFault", 404)
