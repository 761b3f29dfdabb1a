"""Restoring one store into a NEW resource with the stage's network, key and settings, and
waiting until it can be read. Never over the live one: every call names a new table, bucket
or cluster, and the live resources appear only as sources.

How each source is restored (the documented API for each, checked against the AWS docs):
- DynamoDB, `latest` or a time: the table's own point-in-time recovery
  (RestoreTableToPointInTime, under the data key). A recovery point: AWS Backup
  (StartRestoreJob, metadata targetTableName, encryptionType KMS, kmsMasterKeyArn).
- Aurora, `latest` or a time: the cluster's point-in-time recovery
  (RestoreDBClusterToPointInTime), into the stage's data subnets with the cluster's security
  group (the proxy can reach it) and the restored clusters' (the stage's reader can), the
  data key, IAM authentication on and the stage's parameter group. A recovery point: AWS
  Backup with the same settings. Either way the cluster gets one instance to be read.
- S3: AWS Backup, into a new bucket under the data key; `latest` or a time uses the bucket's
  continuous recovery point (RestoreTime), else its newest snapshot.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dr_cli.aws import Aws, items
from dr_cli.cleanup import Cleanup
from dr_cli.errors import CliError
from dr_cli.progress import Progress
from dr_cli.sources import Source, Window, stamp
from dr_cli.stage import Stage
from dr_common import aurora
from dr_common.errors import aws_error_code

ENGINE = "aurora-postgresql"
# S3 continuous backups can be restored to within about 15 minutes of now (AWS Backup
# developer guide, point-in-time recovery).
S3_CONTINUOUS_LAG = timedelta(minutes=15)
RESTORABLE = ("COMPLETED", "AVAILABLE")
JOB_END = ("COMPLETED", "FAILED", "ABORTED")


@dataclass(frozen=True)
class Restored:
    store: str
    name: str  # the new table, bucket or cluster
    how: str  # what restored it, for the report
    requested_at: datetime  # the moment the restore was asked for: RPO and RTO count from it
    ready_at: datetime  # when the new resource could be read
    job_id: str | None = None  # AWS Backup's restore job, when it made the resource


@dataclass(frozen=True)
class Timing:
    bound_seconds: float
    poll_seconds: float
    max_poll_seconds: float


def new_name(stage: Stage, store: str, purpose: str, now: datetime) -> str:
    """Unique, valid for a table, a bucket (lower case, global) and a cluster (from a letter,
    at most 63 characters)."""
    suffix = f"{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    return f"dr-{purpose}-{stage.name.lower()}-{store}-{suffix}"[:63].rstrip("-")


class Restorer:
    def __init__(
        self,
        aws: Aws,
        stage: Stage,
        *,
        progress: Progress,
        cleanup: Cleanup,
        timing: Timing,
        now: Callable[[], datetime],
    ) -> None:
        self.aws, self.stage, self.progress, self.cleanup = aws, stage, progress, cleanup
        self.timing, self.now = timing, now

    def restore(self, store: str, source: Source, name: str) -> Restored:
        if store == "dynamodb":
            return self._dynamodb(source, name)
        if store == "s3":
            return self._s3(source, name)
        return self._aurora(source, name)

    # DynamoDB ---------------------------------------------------------------------------

    def _dynamodb(self, source: Source, name: str) -> Restored:
        dynamodb = self.aws.client("dynamodb")
        if source.kind == "point":
            assert source.point_arn is not None
            metadata = {
                "targetTableName": name,
                "encryptionType": "KMS",
                "kmsMasterKeyArn": self.stage.output("DataKeyArn"),
            }
            restored = self._backup_job("dynamodb", "DynamoDB", source.point_arn, metadata, name)
        else:
            pitr = (
                dynamodb.describe_continuous_backups(TableName=self.stage.table_name)[
                    "ContinuousBackupsDescription"
                ].get("PointInTimeRecoveryDescription")
                or {}
            )
            if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
                raise CliError(f"table {self.stage.table_name} has point-in-time recovery off")
            when = _point_in_time(
                source,
                pitr,
                ("EarliestRestorableDateTime", "LatestRestorableDateTime", "RestoreDateTime"),
                "the table's point-in-time recovery",
            )
            self.cleanup.add("dynamodb", name)
            requested = self.now()
            dynamodb.restore_table_to_point_in_time(
                SourceTableName=self.stage.table_name,
                TargetTableName=name,
                SSESpecificationOverride={
                    "Enabled": True,
                    "SSEType": "KMS",
                    "KMSMasterKeyId": self.stage.output("DataKeyArn"),
                },
                **when,
            )
            restored = Restored(
                "dynamodb",
                name,
                f"DynamoDB point-in-time recovery to {source.describe()}",
                requested,
                requested,
            )
        self._wait(
            f"table {name}",
            lambda: _table_state(dynamodb, name),
        )
        return _ready(restored, self.now())

    # S3 ---------------------------------------------------------------------------------

    def _s3(self, source: Source, name: str) -> Restored:
        metadata = {
            "DestinationBucketName": name,
            "NewBucket": "true",
            "Encrypted": "true",
            "EncryptionType": "SSE-KMS",
            "KMSKey": self.stage.output("DataKeyArn"),
        }
        point = source.point_arn
        if point is None:
            point, restore_time = self._s3_point(source)
            if restore_time is not None:
                metadata["RestoreTime"] = stamp(restore_time)
        return self._backup_job("s3", "S3", point, metadata, name)

    def _s3_point(self, source: Source) -> tuple[str, datetime | None]:
        """The bucket's continuous recovery point and the time to restore it to, or (no
        continuous one) its newest snapshot at or before the time."""
        points = recovery_points(self.aws, self.stage.bucket_arn)
        continuous = [p for p in points if ":continuous:" in p["RecoveryPointArn"]]
        now = self.now()
        if continuous:
            [point] = continuous[:1]
            retention = timedelta(days=int(self.stage.output("BackupRetentionDays")))
            window = Window(
                max(point["CreationDate"], now - retention),
                now - S3_CONTINUOUS_LAG,
                "the bucket's continuous backup (estimated: AWS Backup publishes no window)",
            )
            moment = source.time or window.latest
            window.check(moment)
            return str(point["RecoveryPointArn"]), moment
        eligible = [p for p in points if source.time is None or p["CreationDate"] <= source.time]
        if not eligible:
            raise CliError(
                f"bucket {self.stage.bucket_name} has no recovery point"
                + (f" at or before {stamp(source.time)}" if source.time else "")
            )
        newest = max(eligible, key=lambda p: p["CreationDate"])
        return str(newest["RecoveryPointArn"]), None

    # Aurora -----------------------------------------------------------------------------

    def _aurora(self, source: Source, name: str) -> Restored:
        stage, rds = self.stage, self.aws.client("rds")
        groups = [
            stage.output("ClusterSecurityGroupId"),
            stage.output("RestoredClusterSecurityGroupId"),
        ]
        if source.kind == "point":
            assert source.point_arn is not None
            metadata = {
                "dbClusterIdentifier": name,
                "engine": ENGINE,
                "dbSubnetGroupName": stage.output("DbSubnetGroupName"),
                "vpcSecurityGroupIds": json.dumps(groups),
                "kmsKeyId": stage.output("DataKeyArn"),
                "enableIAMDatabaseAuthentication": "true",
                "dbClusterParameterGroupName": stage.output("DbClusterParameterGroupName"),
            }
            restored = self._backup_job("aurora", "Aurora", source.point_arn, metadata, name)
        else:
            [live] = rds.describe_db_clusters(DBClusterIdentifier=stage.cluster_id)["DBClusters"]
            when = _point_in_time(
                source,
                live,
                ("EarliestRestorableTime", "LatestRestorableTime", "RestoreToTime"),
                "the cluster's point-in-time recovery",
            )
            self.cleanup.add("aurora", name)
            requested = self.now()
            rds.restore_db_cluster_to_point_in_time(
                DBClusterIdentifier=name,
                SourceDBClusterIdentifier=stage.cluster_id,
                DBSubnetGroupName=stage.output("DbSubnetGroupName"),
                VpcSecurityGroupIds=groups,
                KmsKeyId=stage.output("DataKeyArn"),
                EnableIAMDatabaseAuthentication=True,
                DBClusterParameterGroupName=stage.output("DbClusterParameterGroupName"),
                DeletionProtection=False,
                CopyTagsToSnapshot=True,
                **when,
            )
            restored = Restored(
                "aurora",
                name,
                f"Aurora point-in-time recovery to {source.describe()}",
                requested,
                requested,
            )
        self._wait(f"cluster {name}", lambda: _cluster_state(rds, name))
        return _ready(restored, self.now())

    def add_instance(self, cluster_id: str, instance_class: str) -> aurora.Instance:
        """The restored cluster's one instance (AWS Backup and PITR restore none), available."""
        rds = self.aws.client("rds")
        cluster = aurora.describe_cluster(rds, cluster_id)
        if cluster is None:
            raise CliError(f"restored cluster {cluster_id} is gone")
        instance_id = instance_name(cluster_id)
        self.cleanup.add_instance(instance_id)
        aurora.create_instance(rds, cluster, instance_id, instance_class, f"dr {cluster_id}")
        self._wait(
            f"instance {instance_id} ({instance_class})", lambda: _instance_state(rds, instance_id)
        )
        found = aurora.describe_instance(rds, instance_id)
        if found is None or found.host is None or found.port is None:
            raise CliError(f"instance {instance_id} has no endpoint")
        return found

    # AWS Backup -------------------------------------------------------------------------

    def _backup_job(
        self, store: str, resource_type: str, point_arn: str, metadata: dict[str, str], name: str
    ) -> Restored:
        backup = self.aws.client("backup")
        self.cleanup.add(store, name)
        requested = self.now()
        job_id = str(
            backup.start_restore_job(
                RecoveryPointArn=point_arn,
                Metadata=metadata,
                IamRoleArn=self.stage.output("RestoreRoleArn"),
                ResourceType=resource_type,
                IdempotencyToken=str(uuid.uuid4()),
            )["RestoreJobId"]
        )
        self.cleanup.add_job(name, job_id)
        self.progress.say(f"AWS Backup restore job {job_id}: {point_arn} -> {name}")
        state = self._wait(f"restore job {job_id}", lambda: _job_state(backup, job_id))
        if not state.startswith("COMPLETED"):
            raise CliError(f"restore job {job_id} ended {state}")
        return Restored(
            store,
            name,
            f"AWS Backup restore job {job_id} from {point_arn}",
            requested,
            requested,
            job_id,
        )

    def _wait(self, what: str, poll: Callable[[], tuple[bool, str]]) -> str:
        timing = self.timing
        return self.progress.wait(
            what,
            poll,
            bound_seconds=timing.bound_seconds,
            interval_seconds=timing.poll_seconds,
            max_interval_seconds=timing.max_poll_seconds,
        )


def _point_in_time(
    source: Source, described: dict[str, Any], keys: tuple[str, str, str], what: str
) -> dict[str, Any]:
    """A point-in-time restore's time arguments: the latest restorable time, or the asked
    time once it is inside the window that `described` gives. `keys`: the API's names for
    the window's earliest and latest time and for the time to restore to."""
    earliest, latest, time_key = keys
    if source.kind == "time" and source.time is not None:
        Window(described[earliest], described[latest], what).check(source.time)
        return {time_key: source.time}
    return {"UseLatestRestorableTime": True}


def instance_name(cluster_id: str) -> str:
    return f"{cluster_id[:61]}-1"


def recovery_points(aws: Aws, resource_arn: str) -> list[dict[str, Any]]:
    """The resource's restorable recovery points, newest first."""
    backup = aws.client("backup")
    listed = items(
        backup.list_recovery_points_by_resource, "RecoveryPoints", ResourceArn=resource_arn
    )
    found = [p for p in listed if p.get("Status") in RESTORABLE]
    return sorted(found, key=lambda p: p["CreationDate"], reverse=True)


def _ready(restored: Restored, at: datetime) -> Restored:
    return Restored(
        restored.store, restored.name, restored.how, restored.requested_at, at, restored.job_id
    )


def _job_state(backup: Any, job_id: str) -> tuple[bool, str]:
    job = backup.describe_restore_job(RestoreJobId=job_id)
    status = str(job.get("Status"))
    if status in JOB_END:
        message = job.get("StatusMessage")
        return True, status + (f": {message}" if message and status != "COMPLETED" else "")
    percent = job.get("PercentDone")
    return False, status + (f" ({percent}%)" if percent else "")


def _table_state(dynamodb: Any, name: str) -> tuple[bool, str]:
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except Exception as error:
        if aws_error_code(error) == "ResourceNotFoundException":
            return False, "not there yet"
        raise
    status = str(table.get("TableStatus"))
    return status == "ACTIVE", status


def _cluster_state(rds: Any, name: str) -> tuple[bool, str]:
    cluster = aurora.describe_cluster(rds, name)
    if cluster is None:
        return False, "not there yet"
    return cluster.status == "available", cluster.status


def _instance_state(rds: Any, instance_id: str) -> tuple[bool, str]:
    instance = aurora.describe_instance(rds, instance_id)
    if instance is None:
        return False, "not there yet"
    if instance.status in aurora.NEVER_AVAILABLE:
        raise CliError(f"instance {instance_id} is {instance.status}: it will not become available")
    return instance.status == "available", instance.status
