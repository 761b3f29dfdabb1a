"""AWS Backup restore jobs, after botocore's model (backup/2018-11-15, rest-json): StartRestoreJob
(PUT /restore-jobs), DescribeRestoreJob (GET /restore-jobs/{id}), ListRestoreJobs
(GET /restore-jobs/), GetRestoreJobMetadata (GET /restore-jobs/{id}/metadata) and
PutRestoreValidationResult (PUT /restore-jobs/{id}/validations, 204), and the "Restore Job
State Change" events.

A restore really returns the data as of its recovery point: the data plane (the local
stage's, see integration_tests/local/restore_data.py) captured it when the backup job started,
and restores it into a NEW table, bucket or database. A restore testing plan's job is started
through the control API (AWS has no API to run a plan now): it gets a generated
`awsbackup-restore-test-...` name, CreatedBy.RestoreTestingPlanArn, and, once a final
validation status is reported, AWS Backup's clean-up of what it restored (DeletionStatus
SUCCESSFUL, or FAILED with the reason, e.g. a cluster that still holds an instance). An
on-demand job (StartRestoreJob) names its target in its Metadata and is never cleaned up.

A job runs at once: CREATED, RUNNING, then COMPLETED (with CreatedResourceArn) or, as
scripted, FAILED or ABORTED with a StatusMessage (in the stand-in's own words). Each state
change is sent to the event sink (EventBridge) as AWS's example events show it: CREATED with
`detail.state` and no plan ARN, later states with `detail.status`, `restoreTestingPlanArn`
for a plan's job. A final validation status cannot be changed: a second
PutRestoreValidationResult with one is refused (InvalidRequestException); AWS documents that
it cannot change, not the error, which is the stand-in's choice. Not modelled: the
validation window (TIMED_OUT), restores that take time, PENDING.

ListRestoreJobs lists the caller's jobs (its principal's: a plan's run started through the
control API belongs to the principal it names), or every job for a caller with the account
view (auth.py: the stage's operator), oldest first, DescribeRestoreJob's fields each, filtered
by the model's query names (accountId, resourceType, status, createdAfter/Before,
completeAfter/Before, restoreTestingPlanArn, parentJobId: no job here has a parent) and paged
with nextToken/maxResults, as backup.py's ListBackupJobs is.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from integration_tests.standin.auth import ACCOUNT_ID, Caller
from integration_tests.standin.backup import (
    BackupService,
    RecoveryPoint,
    page_bounds,
    query_timestamp,
)
from integration_tests.standin.protocol import AwsError, Request, Response, json_response

RESTORE_STATES = ("PENDING", "RUNNING", "COMPLETED", "ABORTED", "FAILED")
VALIDATION_STATES = ("FAILED", "SUCCESSFUL", "TIMED_OUT", "VALIDATING")
FINAL_VALIDATION = ("FAILED", "SUCCESSFUL", "TIMED_OUT")
SCRIPTABLE = ("COMPLETED", "FAILED", "ABORTED")
TEST_PREFIX = "awsbackup-restore-test-"
_DEFAULT_MESSAGES = {"FAILED": "Restore job failed", "ABORTED": "Restore job was aborted"}
_JOBS = "/restore-jobs"
_LIST = ("/restore-jobs/", "/restore-jobs")  # ListRestoreJobs (the model says the first)
# ByResourceType's pattern in the model.
_RESOURCE_TYPE = re.compile(r"^[a-zA-Z0-9\-\_\.]{1,50}$")
_JOB = re.compile(r"^/restore-jobs/([^/]+)$")
_METADATA = re.compile(r"^/restore-jobs/([^/]+)/metadata$")
_VALIDATIONS = re.compile(r"^/restore-jobs/([^/]+)/validations$")
# Where an on-demand restore's Metadata names its new resource (AWS Backup's restore metadata
# keys, matched without regard to case as AWS does).
_TARGET_KEYS = {
    "DynamoDB": "targetTableName",
    "S3": "destinationBucketName",
    "Aurora": "dbClusterIdentifier",
}


class DataPlane(Protocol):
    """What holds the stores' data: copies it into a recovery point, restores a copy into a
    new resource, and deletes what a restore test created."""

    def capture(self, resource_arn: str, resource_type: str) -> object: ...
    def restore(self, point: RecoveryPoint, name: str) -> str: ...  # the new resource's ARN
    def delete(self, created_arn: str, resource_type: str) -> None: ...


EventSink = Callable[[str, dict[str, Any], list[str]], None]  # detail-type, detail, resources


@dataclass
class RestoreJob:
    id: str
    point: RecoveryPoint
    principal: str
    iam_role_arn: str
    metadata: dict[str, str]
    plan_arn: str | None
    created: float = field(default_factory=time.time)
    status: str = "PENDING"
    status_message: str = ""
    completed: float | None = None
    created_arn: str | None = None
    validation: tuple[str, str] | None = None
    deletion: tuple[str, str] | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "AccountId": ACCOUNT_ID,
            "RestoreJobId": self.id,
            "RecoveryPointArn": self.point.arn,
            "SourceResourceArn": self.point.resource_arn,
            "BackupVaultArn": self.point.vault.arn,
            "CreationDate": self.created,
            "Status": self.status,
            "PercentDone": "100.0" if self.status == "COMPLETED" else "0.0",
            "BackupSizeInBytes": 1024,
            "IamRoleArn": self.iam_role_arn,
            "ResourceType": self.point.resource_type,
            "RecoveryPointCreationDate": self.point.created,
            "IsParent": False,
        }
        optional = {
            "CompletionDate": self.completed,
            "StatusMessage": self.status_message or None,
            "CreatedResourceArn": self.created_arn,
            "CreatedBy": {"RestoreTestingPlanArn": self.plan_arn} if self.plan_arn else None,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if self.validation:
            body["ValidationStatus"], body["ValidationStatusMessage"] = self.validation
        if self.deletion:
            body["DeletionStatus"], body["DeletionStatusMessage"] = self.deletion
        return body

    def event_detail(self) -> dict[str, Any]:
        """A state change's `detail`, with the fields of AWS's example events."""
        detail: dict[str, Any] = {
            "restoreJobId": self.id,
            "backupSizeInBytes": "1024",
            "creationDate": _iso(self.created),
            "iamRoleArn": self.iam_role_arn,
            "percentDone": 100 if self.status == "COMPLETED" else 0,
            "resourceType": self.point.resource_type,
            "status": self.status,
            "backupVaultArn": self.point.vault.arn,
            "recoveryPointArn": self.point.arn,
            "sourceResourceArn": self.point.resource_arn,
        }
        if self.plan_arn:
            detail["restoreTestingPlanArn"] = self.plan_arn
        if self.status_message:
            detail["statusMessage"] = self.status_message
        if self.created_arn:
            detail["createdResourceArn"] = self.created_arn
        if self.completed is not None:
            detail["completionDate"] = _iso(self.completed)
        return detail


def _iso(moment: float) -> str:
    return (
        datetime.fromtimestamp(moment, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


class RestoreJobs:
    def __init__(self, region: str, backup: BackupService) -> None:
        self._region = region
        self._backup = backup
        self._lock = threading.Lock()
        self._jobs: dict[str, RestoreJob] = {}
        self._by_token: dict[tuple[str, str], RestoreJob] = {}
        self._plane: DataPlane | None = None
        self._events: EventSink | None = None

    def attach(self, plane: DataPlane | None, events: EventSink | None) -> None:
        with self._lock:
            self._plane, self._events = plane, events

    # The control API: a restore testing plan's run ------------------------------------------

    def start_test(
        self,
        *,
        recovery_point_arn: str,
        plan_arn: str,
        iam_role_arn: str,
        principal: str,
        outcome: str = "COMPLETED",
        message: str = "",
        metadata: dict[str, str] | None = None,
    ) -> str:
        if outcome not in SCRIPTABLE:
            raise ValueError(f"outcome must be one of {SCRIPTABLE}")
        with self._lock:
            point = self._point(recovery_point_arn)
            name = TEST_PREFIX + uuid.uuid4().hex[:12]
            inferred = {_TARGET_KEYS[point.resource_type]: name, **_inferred(point.resource_type)}
            job = RestoreJob(
                id=str(uuid.uuid4()).upper(),
                point=point,
                principal=principal,
                iam_role_arn=iam_role_arn,
                metadata={**inferred, **(metadata or {})},
                plan_arn=plan_arn,
            )
            self._run(job, name, outcome, message)
        return job.id

    def job_ids(self) -> list[str]:
        with self._lock:
            return list(self._jobs)

    # The API --------------------------------------------------------------------------------

    @staticmethod
    def operation(request: Request) -> str | None:
        method, path = request.method, request.path
        if method == "PUT" and path == _JOBS:
            return "StartRestoreJob"
        if method == "GET" and path in _LIST:
            return "ListRestoreJobs"
        if method == "GET" and _JOB.match(path):
            return "DescribeRestoreJob"
        if method == "GET" and _METADATA.match(path):
            return "GetRestoreJobMetadata"
        if method == "PUT" and _VALIDATIONS.match(path):
            return "PutRestoreValidationResult"
        return None

    def handle(self, operation: str, request: Request, caller: Caller) -> Response:
        with self._lock:
            if operation == "StartRestoreJob":
                return json_response({"RestoreJobId": self._start(request.json(), caller)})
            if operation == "ListRestoreJobs":
                return json_response(self._list(request.query, caller))
            job_id = request.path.split("/")[2]
            if operation == "DescribeRestoreJob":
                return json_response(self._job(job_id).body())
            if operation == "GetRestoreJobMetadata":
                job = self._job(job_id)
                return json_response({"RestoreJobId": job.id, "Metadata": job.metadata})
            self._validate(self._job(job_id), request.json())
            return Response(204)

    def _list(self, query: dict[str, str], caller: Caller) -> dict[str, Any]:
        status = query.get("status")
        if status is not None and status not in RESTORE_STATES:
            raise AwsError("InvalidParameterValueException", f"Invalid status: {status}")
        resource_type = query.get("resourceType")
        if resource_type is not None and not _RESOURCE_TYPE.match(resource_type):
            raise AwsError(
                "InvalidParameterValueException", f"Invalid resourceType: {resource_type}"
            )
        account = query.get("accountId")
        if account is not None and not re.fullmatch(r"[0-9]{12}", account):
            raise AwsError("InvalidParameterValueException", f"Invalid accountId: {account}")
        created_after = query_timestamp(query.get("createdAfter"))
        created_before = query_timestamp(query.get("createdBefore"))
        complete_after = query_timestamp(query.get("completeAfter"))
        complete_before = query_timestamp(query.get("completeBefore"))
        start, size = page_bounds(query)
        credentials = caller.credentials

        def completed_within(job: RestoreJob) -> bool:
            if complete_after is None and complete_before is None:
                return True
            done = job.completed
            return (
                done is not None
                and (complete_after is None or done > complete_after)
                and (complete_before is None or done < complete_before)
            )

        matching = [
            job
            for job in sorted(self._jobs.values(), key=lambda job: job.created)
            if (credentials.account_view or job.principal == credentials.principal)
            and account in (None, ACCOUNT_ID)
            and resource_type in (None, job.point.resource_type)
            and status in (None, job.status)
            and query.get("restoreTestingPlanArn") in (None, job.plan_arn)
            and "parentJobId" not in query
            and (created_after is None or job.created > created_after)
            and (created_before is None or job.created < created_before)
            and completed_within(job)
        ]
        answer: dict[str, Any] = {"RestoreJobs": [j.body() for j in matching[start : start + size]]}
        if start + size < len(matching):
            answer["NextToken"] = str(start + size)
        return answer

    def _point(self, arn: str) -> RecoveryPoint:
        point = self._backup.recovery_point(arn)
        if point is None:
            raise AwsError("ResourceNotFoundException", f"Recovery point {arn} not found")
        if self._plane is None:
            raise AwsError("InvalidRequestException", "stand-in: no data plane to restore with")
        return point

    def _job(self, job_id: str) -> RestoreJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise AwsError("ResourceNotFoundException", f"Restore job {job_id} not found")
        return job

    def _start(self, body: dict[str, Any], caller: Caller) -> str:
        for name in ("RecoveryPointArn", "Metadata"):
            if not body.get(name):
                raise AwsError("MissingParameterValueException", f"{name} is required")
        principal = caller.credentials.principal
        token = body.get("IdempotencyToken")
        if token and (principal, token) in self._by_token:
            return self._by_token[(principal, token)].id
        point = self._point(body["RecoveryPointArn"])
        if body.get("ResourceType") not in (None, point.resource_type):
            raise AwsError(
                "InvalidParameterValueException",
                f"ResourceType {body['ResourceType']} is not the recovery point's "
                f"({point.resource_type})",
            )
        metadata = {str(k): str(v) for k, v in body["Metadata"].items()}
        key = _TARGET_KEYS[point.resource_type]
        target = next((v for k, v in metadata.items() if k.lower() == key.lower()), None)
        if not target:
            raise AwsError("InvalidParameterValueException", f"Metadata has no {key}")
        job = RestoreJob(
            id=str(uuid.uuid4()).upper(),
            point=point,
            principal=principal,
            iam_role_arn=str(body.get("IamRoleArn") or ""),
            metadata=metadata,
            plan_arn=None,
        )
        if token:
            self._by_token[(principal, token)] = job
        self._run(job, target, "COMPLETED", "")
        return job.id

    def _run(self, job: RestoreJob, name: str, outcome: str, message: str) -> None:
        """The job's whole life, at once, each state change sent as an event."""
        self._jobs[job.id] = job
        self._emit(
            job, {"restoreJobId": job.id, "creationDate": _iso(job.created), "state": "CREATED"}
        )
        job.status = "RUNNING"
        self._emit(job)
        if outcome == "COMPLETED":
            assert self._plane is not None
            try:
                job.created_arn = self._plane.restore(job.point, name)
            except Exception as error:
                outcome, message = "FAILED", f"stand-in: the restore failed: {error}"
        job.status = outcome
        job.status_message = message or _DEFAULT_MESSAGES.get(outcome, "")
        job.completed = time.time()
        self._emit(job)

    def _emit(self, job: RestoreJob, detail: dict[str, Any] | None = None) -> None:
        if self._events is not None:
            resources = [job.point.arn]
            self._events("Restore Job State Change", detail or job.event_detail(), resources)

    def _validate(self, job: RestoreJob, body: dict[str, Any]) -> None:
        status = body.get("ValidationStatus")
        if not status:
            raise AwsError("MissingParameterValueException", "ValidationStatus is required")
        if status not in VALIDATION_STATES:
            raise AwsError("InvalidParameterValueException", f"Invalid ValidationStatus: {status}")
        if job.status != "COMPLETED":
            raise AwsError(
                "InvalidRequestException",
                f"Restore job {job.id} is {job.status}: only a completed job can be validated",
            )
        if job.validation and job.validation[0] in FINAL_VALIDATION:
            raise AwsError(
                "InvalidRequestException",
                f"Restore job {job.id} already has the final validation status {job.validation[0]}",
            )
        job.validation = (status, str(body.get("ValidationStatusMessage") or ""))
        if status in FINAL_VALIDATION and job.plan_arn:
            self._clean_up(job)

    def _clean_up(self, job: RestoreJob) -> None:
        """AWS Backup deletes what a restore test created once its validation is final."""
        assert self._plane is not None and job.created_arn is not None
        job.deletion = ("DELETING", "")
        try:
            self._plane.delete(job.created_arn, job.point.resource_type)
        except Exception as error:
            job.deletion = ("FAILED", str(getattr(error, "message", error)))
        else:
            job.deletion = ("SUCCESSFUL", "")


def _inferred(resource_type: str) -> dict[str, str]:
    """The rest of the metadata AWS Backup infers for a restore test (its developer guide,
    restore-testing-inferred-metadata), with IAM authentication on as the stage's selection
    overrides it for Aurora."""
    if resource_type == "DynamoDB":
        return {"encryptionType": "Default", "deletionProtection": "false"}
    if resource_type == "S3":
        return {"newBucket": "true", "encrypted": "true", "encryptionType": "SSE-S3"}
    return {"engine": "aurora-postgresql", "enableIamDatabaseAuthentication": "true"}
