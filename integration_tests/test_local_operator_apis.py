"""Local only: what the operator command `dr` reads and calls on the local stage, as botocore
sees it. The `Standin-*` stacks' outputs (the deployed stage's keys); the table's
point-in-time recovery; the stand-in's ListRecoveryPointsByResource and ListRestoreJobs
(a caller lists its own, the stage's admin key every test's), the live cluster in
DescribeDBClusters, RestoreDBClusterToPointInTime (a copy of the live database as of the
request, checked against the restorable window) and DeleteDBCluster; and the restore reader
function reading a restored cluster. Every client makes one attempt with bounded timeouts,
and every loop is finite."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from integration_tests.local.assembly import DEFAULT_CDK_OUT
from integration_tests.local.harness import (
    CLUSTER_ARN,
    CLUSTER_ID,
    DB_CLUSTER_PARAMETER_GROUP,
    DB_SUBNET_GROUP,
    READER_NAME,
    REGION,
    RESTORED_CLUSTER_SECURITY_GROUP,
    STAGE,
    VAULT_NAME,
    LocalStage,
)
from integration_tests.local.restore_stage import PLAN_ARN, RESTORE_ROLE_ARN, RestoreStage
from integration_tests.standin import Keys
from integration_tests.standin.rds import LATEST_RESTORABLE_LAG_SECONDS

BOUNDED = Config(
    connect_timeout=5, read_timeout=60, retries={"mode": "standard", "total_max_attempts": 1}
)
# What `dr` reads from the stacks (stages/dr_stage.py's outputs), beside what the post-deploy
# suite reads.
DATA_OUTPUTS = {
    "TableName",
    "TableArn",
    "BucketName",
    "ClusterArn",
    "BackupVaultName",
    "BackupRoleArn",
    "RestoreRoleArn",
    "BackupTestRoleArn",
    "TopicArn",
    "DataKeyArn",
    "ClusterSecurityGroupId",
    "RestoredClusterSecurityGroupId",
    "DbSubnetGroupName",
    "DbClusterParameterGroupName",
    "DbInstanceClass",
    "BackupRetentionDays",
    "RestoreTestingPlanArn",
    "RemovalPosture",
    "BackupFirstPointSeconds",
}
SERVICE_OUTPUTS = {
    "HealthCheckFunctionName",
    "PostDeployRoleArn",
    "BackupTestOnRelease",
    "RestoreReaderFunctionName",
    "RestoreTargets",
}


def client(stage: LocalStage, keys: Keys, service: str) -> Any:
    """A client as `dr` makes one: moto by default, the stand-in for Backup, RDS, Lambda."""
    standin = service in ("backup", "rds", "lambda")
    return boto3.client(
        service,
        endpoint_url=stage.standin_url if standin else stage.moto.url,
        region_name=REGION,
        aws_access_key_id=keys.access_key_id,
        aws_secret_access_key=keys.secret_access_key,
        config=BOUNDED,
    )


def code(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = error.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def refused(call: Callable[[], Any]) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call()
    return code(raised)


def pages(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a listing, a page at a time (at most 50 pages)."""
    found: list[dict[str, Any]] = []
    for _ in range(50):
        page = call(**kwargs)
        found += page[key]
        if not page.get("NextToken"):
            return found
        kwargs["NextToken"] = page["NextToken"]
    raise AssertionError(f"{key}: more than 50 pages")


def test_the_stacks_carry_the_deployed_stage_s_outputs(local_stage: LocalStage) -> None:
    cloudformation = client(local_stage, local_stage.moto.admin, "cloudformation")
    outputs = {}
    for suffix in ("Data", "Service"):
        [stack] = cloudformation.describe_stacks(StackName=f"{STAGE}-{suffix}")["Stacks"]
        outputs[suffix] = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs == local_stage.outputs
    assert set(outputs["Data"]) == DATA_OUTPUTS
    assert set(outputs["Service"]) == SERVICE_OUTPUTS
    data, service = outputs["Data"], outputs["Service"]
    assert (data["ClusterArn"], data["RestoreTestingPlanArn"]) == (CLUSTER_ARN, PLAN_ARN)
    assert data["RestoreRoleArn"] == RESTORE_ROLE_ARN
    assert json.loads(service["RestoreTargets"]) == {
        "aurora": {"rpoSeconds": 7200, "rtoSeconds": 14400},
        "dynamodb": {"rpoSeconds": 7200, "rtoSeconds": 7200},
        "s3": {"rpoSeconds": 7200, "rtoSeconds": 7200},
    }
    admin = local_stage.moto.admin
    topic = client(local_stage, admin, "sns").get_topic_attributes(TopicArn=data["TopicArn"])
    assert topic["Attributes"]["TopicArn"] == data["TopicArn"]
    key = client(local_stage, admin, "kms").describe_key(KeyId=data["DataKeyArn"])
    assert key["KeyMetadata"]["Enabled"] is True
    # The same keys as the synthesized Dev stage's stacks (beside CDK's own cross-stack ones).
    for suffix, keys in outputs.items():
        synthesized = synthesized_outputs(f"Dev-{suffix}")
        assert set(keys) <= synthesized, set(keys) - synthesized


def synthesized_outputs(stack_name: str) -> set[str]:
    assembly = DEFAULT_CDK_OUT / "assembly-Dev"
    manifest = json.loads((assembly / "manifest.json").read_text())
    for artifact in manifest["artifacts"].values():
        properties = artifact.get("properties", {})
        if properties.get("stackName") == stack_name:
            template = json.loads((assembly / properties["templateFile"]).read_text())
            return set(template["Outputs"])
    raise AssertionError(f"{stack_name} not synthesized")


def test_the_table_s_point_in_time_recovery_is_on(local_stage: LocalStage) -> None:
    dynamodb = client(local_stage, local_stage.moto.admin, "dynamodb")
    described = dynamodb.describe_continuous_backups(TableName=local_stage.moto.table_name)
    pitr = described["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    earliest, latest = pitr["EarliestRestorableDateTime"], pitr["LatestRestorableDateTime"]
    assert earliest <= latest <= datetime.now(UTC)


def test_recovery_points_by_resource_paged_and_scoped(
    restore: RestoreStage, local_stage: LocalStage
) -> None:
    first, second = restore.back_up("dynamodb"), restore.back_up("dynamodb")
    bucket_point = restore.back_up("s3")
    table_arn = local_stage.moto.table_arn
    mine = client(local_stage, restore.tester, "backup")
    listed = pages(
        mine.list_recovery_points_by_resource, "RecoveryPoints", ResourceArn=table_arn, MaxResults=1
    )
    arns = [p["RecoveryPointArn"] for p in listed]
    assert arns[-2:] == [first, second]  # oldest first, one a page
    point = listed[-1]
    assert (point["Status"], point["BackupVaultName"], point["ResourceName"]) == (
        "COMPLETED",
        VAULT_NAME,
        local_stage.moto.table_name,
    )
    assert (point["IsParent"], point["BackupSizeBytes"], point["VaultType"]) == (
        False,
        1024,
        "BACKUP_VAULT",
    )
    assert isinstance(point["CreationDate"], datetime)
    # A table's recovery points keep its key; a bucket's take the vault's.
    assert point["EncryptionKeyArn"] == local_stage.moto.key_arn
    [bucket] = [
        p
        for p in pages(
            mine.list_recovery_points_by_resource,
            "RecoveryPoints",
            ResourceArn=f"arn:aws:s3:::{local_stage.moto.bucket_name}",
        )
        if p["RecoveryPointArn"] == bucket_point
    ]
    assert bucket["EncryptionKeyArn"] == local_stage.moto.backup_key_arn
    # Another caller does not see them; the stage's admin key (dr's) does.
    other = client(local_stage, local_stage.standin.new_keys(), "backup")
    assert other.list_recovery_points_by_resource(ResourceArn=table_arn)["RecoveryPoints"] == []
    admin = client(local_stage, local_stage.moto.admin, "backup")
    seen = pages(admin.list_recovery_points_by_resource, "RecoveryPoints", ResourceArn=table_arn)
    assert {first, second} <= {p["RecoveryPointArn"] for p in seen}
    assert refused(lambda: mine.list_recovery_points_by_resource(ResourceArn="table/x")) == (
        "InvalidParameterValueException",
        400,
    )
    assert refused(
        lambda: mine.list_recovery_points_by_resource(ResourceArn=table_arn, NextToken="x")
    ) == ("InvalidParameterValueException", 400)


def test_restore_jobs_listed_filtered_paged_and_scoped(
    restore: RestoreStage, local_stage: LocalStage
) -> None:
    bucket_point, table_point = restore.back_up("s3"), restore.back_up("dynamodb")
    before = datetime.now(UTC) - timedelta(seconds=1)
    tested = restore.restore_test(bucket_point)
    failed = restore.restore_test(table_point, outcome="FAILED", message="no capacity")
    target = f"dr-local-listed-{tested[:8].lower()}"
    on_demand = restore.backup.start_restore_job(
        RecoveryPointArn=table_point,
        Metadata={"targetTableName": target},
        IamRoleArn=RESTORE_ROLE_ARN,
    )["RestoreJobId"]
    mine = client(local_stage, restore.tester, "backup")

    def ids(caller: Any = mine, **filters: Any) -> list[str]:
        jobs = pages(caller.list_restore_jobs, "RestoreJobs", ByCreatedAfter=before, **filters)
        return [j["RestoreJobId"] for j in jobs]

    assert ids() == [tested, failed, on_demand]  # oldest first
    assert ids(MaxResults=1) == [tested, failed, on_demand]
    assert ids(ByRestoreTestingPlanArn=PLAN_ARN) == [tested, failed]
    assert ids(ByResourceType="S3") == [tested]
    assert ids(ByStatus="FAILED") == [failed]
    assert ids(ByStatus="COMPLETED", ByResourceType="DynamoDB") == [on_demand]
    assert ids(ByCreatedBefore=before) == []
    assert ids(ByCompleteAfter=before) == [tested, failed, on_demand]
    assert ids(ByAccountId="210987654321") == []
    # Each item is what DescribeRestoreJob answers.
    [item] = [
        j
        for j in pages(mine.list_restore_jobs, "RestoreJobs", ByCreatedAfter=before)
        if j["RestoreJobId"] == failed
    ]
    described = restore.describe(failed)
    described.pop("ResponseMetadata")
    assert item == described
    assert (item["StatusMessage"], item["CreatedBy"]) == (
        "no capacity",
        {"RestoreTestingPlanArn": PLAN_ARN},
    )
    # Another caller does not see them; the stage's admin key (dr's) does.
    assert ids(client(local_stage, local_stage.standin.new_keys(), "backup")) == []
    admin = client(local_stage, local_stage.moto.admin, "backup")
    assert ids(admin, ByRestoreTestingPlanArn=PLAN_ARN) == [tested, failed]
    assert refused(lambda: mine.list_restore_jobs(ByStatus="SKIPPED")) == (
        "InvalidParameterValueException",
        400,
    )
    # What the jobs made goes again: the plan's bucket by AWS Backup's clean-up.
    mine.put_restore_validation_result(RestoreJobId=tested, ValidationStatus="SUCCESSFUL")
    assert restore.describe(tested)["DeletionStatus"] == "SUCCESSFUL"
    local_stage.moto.client("dynamodb").delete_table(TableName=target)


def test_the_live_cluster_and_its_restorable_window(local_stage: LocalStage) -> None:
    rds = client(local_stage, local_stage.moto.admin, "rds")
    [cluster] = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER_ID)["DBClusters"]
    [by_arn] = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER_ARN)["DBClusters"]
    assert by_arn["DBClusterArn"] == cluster["DBClusterArn"] == CLUSTER_ARN
    assert (cluster["Status"], cluster["Engine"]) == ("available", "aurora-postgresql")
    assert (cluster["Endpoint"], cluster["Port"]) == ("127.0.0.1", local_stage.postgres.port)
    assert cluster["DatabaseName"] == local_stage.function.environment["DB_NAME"]
    assert (cluster["DBSubnetGroup"], cluster["DBClusterParameterGroup"]) == (
        DB_SUBNET_GROUP,
        DB_CLUSTER_PARAMETER_GROUP,
    )
    assert cluster["KmsKeyId"] == local_stage.moto.key_arn
    earliest, latest = cluster["EarliestRestorableTime"], cluster["LatestRestorableTime"]
    started = datetime.fromtimestamp(local_stage.started, UTC)
    assert abs((earliest - started).total_seconds()) < 0.001
    now = datetime.now(UTC)
    # A few seconds back, never before the earliest (a stage younger than that: the start).
    lagging = now - timedelta(seconds=LATEST_RESTORABLE_LAG_SECONDS - 1)
    assert earliest <= latest <= max(earliest, lagging)
    listed = rds.describe_db_clusters()["DBClusters"]
    assert CLUSTER_ID in [c["DBClusterIdentifier"] for c in listed]


def test_a_point_in_time_restore_copies_the_live_database_as_of_the_request(
    restore: RestoreStage, local_stage: LocalStage
) -> None:
    admin = local_stage.moto.admin
    rds = client(local_stage, admin, "rds")
    then = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    restore.write_canary("aurora", then)
    local_stage.standin.script_next_cluster(available_after=2)
    name = "dr-drill-latest"
    created = rds.restore_db_cluster_to_point_in_time(
        DBClusterIdentifier=name,
        SourceDBClusterIdentifier=CLUSTER_ID,
        UseLatestRestorableTime=True,
        DBSubnetGroupName=DB_SUBNET_GROUP,
        VpcSecurityGroupIds=[RESTORED_CLUSTER_SECURITY_GROUP],
        KmsKeyId=local_stage.moto.key_arn,
        EnableIAMDatabaseAuthentication=True,
        DBClusterParameterGroupName=DB_CLUSTER_PARAMETER_GROUP,
        Tags=[{"Key": "dr:drill", "Value": "yes"}],
    )["DBCluster"]
    restore.write_canary("aurora", datetime.now(UTC))  # after the restore: not in the copy
    assert (created["DBClusterIdentifier"], created["Status"]) == (name, "creating")
    assert created["VpcSecurityGroups"] == [
        {"VpcSecurityGroupId": RESTORED_CLUSTER_SECURITY_GROUP, "Status": "active"}
    ]
    assert (created["DBSubnetGroup"], created["DBClusterParameterGroup"]) == (
        DB_SUBNET_GROUP,
        DB_CLUSTER_PARAMETER_GROUP,
    )
    assert (created["KmsKeyId"], created["IAMDatabaseAuthenticationEnabled"]) == (
        local_stage.moto.key_arn,
        True,
    )
    assert created["TagList"] == [{"Key": "dr:drill", "Value": "yes"}]

    def status() -> str:
        [found] = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"]
        return str(found["Status"])

    assert [status() for _ in range(3)] == ["creating", "creating", "available"]
    [cluster] = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"]
    # The reader function (as `dr` invokes it) finds the canary of the restore's moment.
    answer = client(local_stage, admin, "lambda").invoke(
        FunctionName=READER_NAME,
        Payload=json.dumps({"host": cluster["Endpoint"], "port": cluster["Port"]}).encode(),
    )
    read = json.loads(answer["Payload"].read())
    assert answer.get("FunctionError") is None, read
    assert datetime.fromisoformat(read["writtenAt"]) == then, read

    # A time inside the window is accepted too (the copy is still of the present), and the
    # defaults are the API reference's: IAM authentication off, the engine's parameter group.
    [live] = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER_ID)["DBClusters"]
    timed = rds.restore_db_cluster_to_point_in_time(
        DBClusterIdentifier="dr-drill-timed",
        SourceDBClusterIdentifier=CLUSTER_ID,
        RestoreToTime=live["EarliestRestorableTime"],
    )["DBCluster"]
    assert timed["IAMDatabaseAuthenticationEnabled"] is False
    assert timed["DBClusterParameterGroup"] == "default.aurora-postgresql17"
    assert timed["DBSubnetGroup"] == DB_SUBNET_GROUP  # the source's

    # Only the live cluster is restored to a point in time; a taken name is refused.
    assert refused(
        lambda: rds.restore_db_cluster_to_point_in_time(
            DBClusterIdentifier="dr-drill-again",
            SourceDBClusterIdentifier=name,
            UseLatestRestorableTime=True,
        )
    ) == ("InvalidDBClusterStateFault", 400)
    assert refused(
        lambda: rds.restore_db_cluster_to_point_in_time(
            DBClusterIdentifier=name.upper(),
            SourceDBClusterIdentifier=CLUSTER_ID,
            UseLatestRestorableTime=True,
        )
    ) == ("DBClusterAlreadyExistsFault", 400)

    # Deleting: refused while an instance is in it, or without a final snapshot's decision.
    instance = {
        "DBInstanceIdentifier": "drv-drill",
        "DBClusterIdentifier": name,
        "DBInstanceClass": "db.t4g.medium",
        "Engine": "aurora-postgresql",
    }
    rds.create_db_instance(**instance)
    assert refused(
        lambda: rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)
    ) == ("InvalidDBClusterStateFault", 400)
    rds.delete_db_instance(DBInstanceIdentifier="drv-drill", SkipFinalSnapshot=True)
    for _ in range(5):  # gone two describes after its deletion (the default script)
        try:
            rds.describe_db_instances(DBInstanceIdentifier="drv-drill")
        except ClientError:
            break
    # Other tests on this local stage (a `dr restore`) may keep instances of their own.
    assert "drv-drill" not in local_stage.standin.rds_instances()
    assert refused(lambda: rds.delete_db_cluster(DBClusterIdentifier=name)) == (
        "InvalidParameterCombination",
        400,
    )
    for identifier in (name, "dr-drill-timed"):
        server = local_stage.data_plane.restored_server(identifier)
        deleted = rds.delete_db_cluster(DBClusterIdentifier=identifier, SkipFinalSnapshot=True)
        assert deleted["DBCluster"]["Status"] == "deleting"
        with pytest.raises(ClientError) as gone:
            rds.describe_db_clusters(DBClusterIdentifier=identifier)
        assert code(gone) == ("DBClusterNotFoundFault", 404)
        assert not server.running()  # its server stopped
        with pytest.raises(KeyError):
            local_stage.data_plane.restored_server(identifier)


def test_point_in_time_restores_and_deletes_refused_as_rds_refuses_them(
    local_stage: LocalStage,
) -> None:
    rds = client(local_stage, local_stage.moto.admin, "rds")
    now = datetime.now(UTC)
    before = datetime.fromtimestamp(local_stage.started - 60, UTC)

    def restore(**changes: Any) -> tuple[str, int]:
        request = {
            "DBClusterIdentifier": "dr-drill-refused",
            "SourceDBClusterIdentifier": CLUSTER_ID,
            "UseLatestRestorableTime": True,
            **changes,
        }
        request = {k: v for k, v in request.items() if v is not None}
        return refused(lambda: rds.restore_db_cluster_to_point_in_time(**request))

    combination = ("InvalidParameterCombination", 400)
    assert restore(RestoreToTime=now) == combination  # both
    assert restore(UseLatestRestorableTime=None) == combination  # neither
    assert restore(UseLatestRestorableTime=False) == combination
    outside = ("InvalidRestoreFault", 400)
    assert restore(UseLatestRestorableTime=None, RestoreToTime=before) == outside
    assert restore(UseLatestRestorableTime=None, RestoreToTime=now + timedelta(hours=1)) == outside
    assert restore(SourceDBClusterIdentifier="dr-nowhere") == ("DBClusterNotFoundFault", 404)
    assert restore(DBClusterIdentifier=CLUSTER_ID) == ("DBClusterAlreadyExistsFault", 400)
    for invalid in ("1drill", "dr--drill", "drill-", "d" * 64):
        assert restore(DBClusterIdentifier=invalid) == ("InvalidParameterValue", 400), invalid
    assert restore(DBSubnetGroupName="elsewhere") == ("DBSubnetGroupNotFoundFault", 404)
    assert restore(DBClusterParameterGroupName="elsewhere") == (
        "DBClusterParameterGroupNotFound",
        404,
    )
    # Nothing was made, or held: the name is free.
    listed = [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]]
    assert "dr-drill-refused" not in listed
    # The stage's own cluster is never deleted: it still contains its instances.
    assert refused(
        lambda: rds.delete_db_cluster(DBClusterIdentifier=CLUSTER_ID, SkipFinalSnapshot=True)
    ) == ("InvalidDBClusterStateFault", 400)
    assert refused(
        lambda: rds.delete_db_cluster(DBClusterIdentifier="dr-nowhere", SkipFinalSnapshot=True)
    ) == ("DBClusterNotFoundFault", 404)
    [live] = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER_ID)["DBClusters"]
    assert live["Status"] == "available"
