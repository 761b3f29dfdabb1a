"""An AWS Backup restore job as DescribeRestoreJob answers it, and what it restored.

A restore testing plan's jobs create resources named `awsbackup-restore-test-...`; a reader
refuses any other (it must never act on a live store). The store follows from the job's
ResourceType: `Aurora`; `DynamoDB`, or `DynamoDB.FullyManaged` for a table under AWS Backup's
advanced features; `S3`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

STORES = ("aurora", "dynamodb", "s3")
STORE_OF_RESOURCE_TYPE = {
    "Aurora": "aurora",
    "DynamoDB": "dynamodb",
    "DynamoDB.FullyManaged": "dynamodb",
    "S3": "s3",
}
RESTORED_PREFIX = "awsbackup-restore-test"
# ValidationStatus values that cannot change any more (VALIDATING can).
FINAL_VALIDATION = ("SUCCESSFUL", "FAILED", "TIMED_OUT")
FAILED_STATUSES = ("FAILED", "ABORTED")


class RestoreJobError(ValueError):
    """An answer that is not what DescribeRestoreJob describes, or a restored resource this
    reader must not touch."""


@dataclass(frozen=True)
class RestoreJob:
    job_id: str
    status: str
    resource_type: str
    created: datetime  # the moment the restore was asked for: the disaster, for the RPO
    completed: datetime | None
    created_resource_arn: str | None
    recovery_point_arn: str | None
    recovery_point_created: datetime | None
    plan_arn: str | None  # the restore testing plan that created the job, if one did
    validation_status: str | None
    status_message: str

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> RestoreJob:
        """From DescribeRestoreJob's answer (botocore's: timestamps as aware datetimes)."""
        if not isinstance(answer, Mapping):
            raise RestoreJobError(f"DescribeRestoreJob answered {answer!r}")
        try:
            job_id, status = str(answer["RestoreJobId"]), str(answer["Status"])
            created = _moment(answer["CreationDate"], "CreationDate")
        except KeyError as missing:
            raise RestoreJobError(f"DescribeRestoreJob's answer has no {missing}") from None
        completed = answer.get("CompletionDate")
        point_created = answer.get("RecoveryPointCreationDate")
        created_by = answer.get("CreatedBy") or {}
        return cls(
            job_id=job_id,
            status=status,
            resource_type=str(answer.get("ResourceType") or ""),
            created=created,
            completed=None if completed is None else _moment(completed, "CompletionDate"),
            created_resource_arn=answer.get("CreatedResourceArn") or None,
            recovery_point_arn=answer.get("RecoveryPointArn") or None,
            recovery_point_created=(
                None
                if point_created is None
                else _moment(point_created, "RecoveryPointCreationDate")
            ),
            plan_arn=created_by.get("RestoreTestingPlanArn") or None,
            validation_status=answer.get("ValidationStatus") or None,
            status_message=str(answer.get("StatusMessage") or ""),
        )

    @property
    def store(self) -> str | None:
        return STORE_OF_RESOURCE_TYPE.get(self.resource_type)

    @property
    def validated(self) -> bool:
        """A final validation result is already set: nothing may report again."""
        return self.validation_status in FINAL_VALIDATION

    @property
    def duration_seconds(self) -> float | None:
        if self.completed is None:
            return None
        return (self.completed - self.created).total_seconds()

    def restored_name(self) -> str:
        """The restored table's, bucket's or cluster's name, from CreatedResourceArn."""
        arn = self.created_resource_arn
        if not arn:
            raise RestoreJobError(f"restore job {self.job_id} has no CreatedResourceArn")
        name = restored_name(arn, self.store)
        if not name.startswith(RESTORED_PREFIX):
            raise RestoreJobError(
                f"restore job {self.job_id} created {arn}, not a restore test's "
                f"{RESTORED_PREFIX}-... resource: refusing to read it"
            )
        return name


def restored_name(arn: str, store: str | None) -> str:
    """The resource name in a table, bucket or cluster ARN of the job's store."""
    parts = arn.split(":", 6)
    if len(parts) < 6 or parts[0] != "arn":
        raise RestoreJobError(f"{arn!r} is not an ARN")
    service, resource = parts[2], ":".join(parts[5:])
    if store == "dynamodb" and service == "dynamodb" and resource.startswith("table/"):
        return resource.removeprefix("table/").split("/", 1)[0]
    if store == "s3" and service == "s3" and resource and "/" not in resource:
        return resource
    if store == "aurora" and service == "rds" and resource.startswith("cluster:"):
        return resource.removeprefix("cluster:")
    raise RestoreJobError(f"{arn} is not the {store or 'unknown'} resource a restore creates")


def _moment(value: object, field: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise RestoreJobError(f"DescribeRestoreJob's {field} is {value!r}, not a timestamp")
    return value
