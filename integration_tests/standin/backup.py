"""AWS Backup stand-in: vaults (with an optional vault lock), StartBackupJob, DescribeBackupJob,
ListBackupJobs, DescribeBackupVault and ListRecoveryPointsByResource, after botocore's model
(backup/2018-11-15, rest-json).

A job's life is driven by how often it is described, not by wall time, so tests are exact:
by default the first DescribeBackupJob says CREATED, later ones RUNNING, and the `polls`-th
one COMPLETED. A script (control API) sets the next job's outcome for a caller: COMPLETED
after N polls, FAILED/ABORTED/EXPIRED/PARTIAL with a StatusMessage, or CREATED or RUNNING
(stuck forever). Two states of AWS's that are not terminal can be passed through: PENDING
after CREATED when the script asks (`pending`), and ABORTING on the poll before ABORTED
(always, as AWS reports a job being stopped, unless that is the first poll). As in AWS, a
vault lock fails a job whose DeleteAfterDays is outside the lock's [min, max] retention: the
job is accepted, then FAILED with a StatusMessage (in the stand-in's own words).

A completed job's recovery point holds the resource's data as of the job's start, when a data
plane is attached (restore.py's DataPlane: the local stage's, which copies the table through
moto's CreateBackup, the bucket's canary object, the database's dr_canary with its roles):
restore.py restores from it.

One backup job per resource at a time (AWS Backup's quota): a started job whose resource
already has an active job (one created before it, e.g. a plan's hourly job added through the
control API) stays CREATED while that one is active, and ends EXPIRED, with the StatusMessage
of AWS's documented example event, once it has been described BLOCKED_POLLS_TO_EXPIRE times
(its start window passing, in polls). A plan job is active until ListBackupJobs has shown it
`listings` times, then COMPLETED (0: a completed one, the plan's recovery point). Jobs are
scoped to the caller's principal (its base key): ListBackupJobs lists, and the one-job rule
counts, only that principal's jobs, so scenarios running at the same time on the one local
table do not see each other's jobs.

ListRecoveryPointsByResource lists the recovery points of the resource's COMPLETED (and
PARTIAL) jobs, with the status of the same name, scoped the same way, except for a caller with
the account view (auth.py: the stage's operator, whose `dr` must see what every test backed
up). That view does not extend to ListBackupJobs: what a run lists there decides what its
backup test waits for, and a developer's run would wait on other scenarios' jobs. A recovery
point of DynamoDB or Aurora is encrypted with its source's key (set_source_key), one of S3
with the vault's, as AWS Backup's are; it is never deleted or expired here.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from integration_tests.standin.auth import ACCOUNT_ID, Caller
from integration_tests.standin.protocol import AwsError, Request, Response, json_response

TERMINAL_STATES = ("COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL")
ALL_STATES = ("CREATED", "PENDING", "RUNNING", "ABORTING", *TERMINAL_STATES)  # BackupJobState
ACTIVE_STATES = ("CREATED", "PENDING", "RUNNING", "ABORTING")
BLOCKED_POLLS_TO_EXPIRE = 3
# The StatusMessage of AWS's example EXPIRED event (AWS Backup developer guide, EventBridge).
RESOURCE_BUSY_MESSAGE = "Backup job failed because there was a running job for the same resource."
STUCK_STATES = ("CREATED", "RUNNING")  # a script ending in one never leaves it
SCRIPTABLE_OUTCOMES = (*TERMINAL_STATES, *STUCK_STATES)
_DEFAULT_MESSAGES = {
    "FAILED": "Backup job failed",
    "ABORTED": "Backup job was aborted",
    "EXPIRED": "Backup job did not start within its start window",
    "PARTIAL": "Backup job completed with issues",
}
_STUCK_PERCENT = "37.0"
_RESOURCE_TYPES = {"dynamodb": "DynamoDB", "rds": "Aurora", "s3": "S3"}
if TYPE_CHECKING:
    from integration_tests.standin.restore import DataPlane

_JOB_PATH = re.compile(r"^/backup-jobs/([^/]+)$")
# ListRecoveryPointsByResource: the ARN is one percent-encoded segment as sent, its slashes
# decoded in Request.path, hence the greedy match.
_POINTS_PATH = re.compile(r"^/resources/(.+)/recovery-points/?$")
POINT_STATES = ("COMPLETED", "PARTIAL")  # the jobs whose recovery point exists
_JOBS_PATH = ("/backup-jobs/", "/backup-jobs")  # ListBackupJobs (the model says the first)
_VAULT_PATH = re.compile(r"^/backup-vaults/([^/]+)$")


@dataclass(frozen=True)
class JobScript:
    outcome: str = "COMPLETED"
    polls: int = 3  # the DescribeBackupJob call that first reports the outcome
    message: str = ""
    pending: bool = False  # the second call says PENDING, between CREATED and RUNNING

    def state_at(self, poll: int) -> str:
        """The state the `poll`-th DescribeBackupJob reports (from 1)."""
        if self.outcome == "CREATED":
            return "CREATED"
        if poll >= self.polls and self.outcome != "RUNNING":
            return self.outcome
        if self.outcome == "ABORTED" and 1 < poll == self.polls - 1:
            return "ABORTING"
        lead = ("CREATED", "PENDING", "RUNNING") if self.pending else ("CREATED", "RUNNING")
        return lead[min(max(poll, 1), len(lead)) - 1]


@dataclass(frozen=True)
class Vault:
    name: str
    arn: str
    created: float
    min_retention_days: int | None = None
    max_retention_days: int | None = None
    encryption_key_arn: str | None = None

    def lock_violation(self, delete_after_days: int | None) -> str | None:
        """The StatusMessage of a job this lock fails, or None. AWS does not document that
        message's text: this wording is the stand-in's own, and tests treat it so."""
        if self.min_retention_days is None and self.max_retention_days is None:
            return None
        if delete_after_days is None:
            if self.max_retention_days is None:
                return None
            return (
                f"The recovery point would be kept forever, longer than the maximum retention "
                f"of {self.max_retention_days} days set by the vault lock of {self.name}"
            )
        if self.min_retention_days is not None and delete_after_days < self.min_retention_days:
            return (
                f"The lifecycle's DeleteAfterDays ({delete_after_days}) is shorter than the "
                f"minimum retention of {self.min_retention_days} days set by the vault lock "
                f"of {self.name}"
            )
        if self.max_retention_days is not None and delete_after_days > self.max_retention_days:
            return (
                f"The lifecycle's DeleteAfterDays ({delete_after_days}) is longer than the "
                f"maximum retention of {self.max_retention_days} days set by the vault lock "
                f"of {self.name}"
            )
        return None


@dataclass(frozen=True)
class RecoveryPoint:
    """A completed backup job's recovery point, and the data it holds."""

    arn: str
    resource_arn: str
    resource_type: str
    vault: Vault
    created: float
    data: object


@dataclass(frozen=True)
class PlanRun:
    """What makes a job a plan's: its CreatedBy, and how long it stays active."""

    plan_id: str
    state: str  # CREATED or RUNNING while active
    listings: int  # active until ListBackupJobs has shown it this many times


@dataclass
class Job:
    id: str
    vault: Vault
    request: dict[str, Any]
    principal: str
    script: JobScript
    created: float
    recovery_point_arn: str
    polls: int = 0
    completed: float | None = None
    plan: PlanRun | None = None
    listed: int = 0
    blocked_polls: int = 0
    ended: tuple[str, str] | None = None  # (state, StatusMessage) set by the one-job rule
    data: object = None  # what the data plane captured at the start, for restores

    @property
    def state(self) -> str:
        if self.ended:
            return self.ended[0]
        if self.plan:
            return self.plan.state if self.listed < self.plan.listings else "COMPLETED"
        if self.polls == 0:
            return "CREATED"
        return self.script.state_at(self.polls)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def describe(self, *, blocked: bool = False) -> dict[str, Any]:
        """The answer to DescribeBackupJob, which advances a started job's script unless
        another job holds the resource (`blocked`)."""
        if blocked and self.ended is None:
            self.blocked_polls += 1
            if self.blocked_polls >= BLOCKED_POLLS_TO_EXPIRE:
                self.ended = ("EXPIRED", RESOURCE_BUSY_MESSAGE)
        elif self.plan is None and self.ended is None:
            self.polls += 1
        return self.body()

    def body(self) -> dict[str, Any]:
        """The job's fields, in the model's BackupJob / DescribeBackupJobOutput shape."""
        state = self.state
        if state in TERMINAL_STATES and self.completed is None:
            self.completed = time.time()
        resource_arn: str = self.request["ResourceArn"]
        body: dict[str, Any] = {
            "AccountId": ACCOUNT_ID,
            "BackupJobId": self.id,
            "BackupVaultName": self.vault.name,
            "BackupVaultArn": self.vault.arn,
            "RecoveryPointArn": self.recovery_point_arn,
            "ResourceArn": resource_arn,
            "ResourceType": _resource_type(resource_arn),
            "ResourceName": resource_name(resource_arn),
            "IamRoleArn": self.request["IamRoleArn"],
            "CreationDate": self.created,
            "InitiationDate": self.created,
            "StartBy": self.created + 60 * self.request.get("StartWindowMinutes", 480),
            "State": state,
            "PercentDone": self._percent(state),
            "IsParent": False,
        }
        if self.plan:
            plan_arn = self.vault.arn.replace(
                f"backup-vault:{self.vault.name}", f"backup-plan:{self.plan.plan_id}"
            )
            body["CreatedBy"] = {
                "BackupPlanId": self.plan.plan_id,
                "BackupPlanArn": plan_arn,
                "BackupPlanVersion": "c3RhbmQtaW4",
                "BackupRuleId": "standin-hourly-rule",
            }
        if lifecycle := self.request.get("Lifecycle"):
            body["RecoveryPointLifecycle"] = lifecycle
        if state in TERMINAL_STATES:
            body["CompletionDate"] = self.completed
        if state in ("COMPLETED", "PARTIAL"):
            body["BackupSizeInBytes"] = body["BytesTransferred"] = 1024
        if self.ended:
            body["StatusMessage"] = self.ended[1]
        elif state in _DEFAULT_MESSAGES:  # an unsuccessful end
            body["StatusMessage"] = self.script.message or _DEFAULT_MESSAGES[state]
        return body

    def _percent(self, state: str) -> str:
        if state == "COMPLETED":
            return "100.0"
        if state in ("CREATED", "PENDING") or self.ended:
            return "0.0"
        if self.plan or self.script.outcome == "RUNNING":
            return _STUCK_PERCENT
        return f"{min(99.0, 100.0 * self.polls / max(self.script.polls, 1)):.1f}"


def query_timestamp(value: str | None) -> float | None:
    """A querystring timestamp as botocore sends it (ISO 8601), or None."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise AwsError("InvalidParameterValueException", f"Invalid timestamp: {value}") from None


def page_bounds(query: dict[str, str]) -> tuple[int, int]:
    """nextToken (an offset into the listing, as this stand-in hands it out) and maxResults
    (1 to 1000, the model's range), or InvalidParameterValueException."""
    try:
        start, size = int(query.get("nextToken", "0")), int(query.get("maxResults", "1000"))
    except ValueError:
        raise AwsError(
            "InvalidParameterValueException", "Invalid nextToken or maxResults"
        ) from None
    if not 1 <= size <= 1000:
        raise AwsError("InvalidParameterValueException", "maxResults must be 1 to 1000")
    if start < 0:
        raise AwsError("InvalidParameterValueException", "Invalid nextToken")
    return start, size


def resource_name(arn: str) -> str:
    """What AWS Backup calls the resource: the table's, bucket's or cluster's name."""
    return arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def _resource_type(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] not in _RESOURCE_TYPES:
        raise AwsError("InvalidParameterValueException", f"Invalid ARN: {arn}")
    return _RESOURCE_TYPES[parts[2]]


class BackupService:
    def __init__(self, region: str) -> None:
        self._region = region
        self._lock = threading.Lock()
        self._vaults: dict[str, Vault] = {}
        self._jobs: dict[str, Job] = {}
        self._by_token: dict[tuple[str, str], Job] = {}
        self._scripts: deque[tuple[str | None, JobScript]] = deque()
        self._plane: DataPlane | None = None
        self._source_keys: dict[str, str] = {}

    def attach_data_plane(self, plane: DataPlane | None) -> None:
        with self._lock:
            self._plane = plane

    def set_source_key(self, resource_arn: str, key_arn: str) -> None:
        """The KMS key that encrypts the resource (a DynamoDB or Aurora recovery point keeps
        it)."""
        with self._lock:
            self._source_keys[resource_arn] = key_arn

    def recovery_point(self, arn: str) -> RecoveryPoint | None:
        """The recovery point of a COMPLETED job, else None."""
        with self._lock:
            for job in self._jobs.values():
                if job.recovery_point_arn == arn and job.state == "COMPLETED":
                    resource_arn = job.request["ResourceArn"]
                    return RecoveryPoint(
                        arn,
                        resource_arn,
                        _resource_type(resource_arn),
                        job.vault,
                        job.created,
                        job.data,
                    )
        return None

    def add_vault(
        self,
        name: str,
        min_retention_days: int | None,
        max_retention_days: int | None,
        encryption_key_arn: str | None = None,
    ) -> Vault:
        vault = Vault(
            name=name,
            arn=f"arn:aws:backup:{self._region}:{ACCOUNT_ID}:backup-vault:{name}",
            created=time.time(),
            min_retention_days=min_retention_days,
            max_retention_days=max_retention_days,
            encryption_key_arn=encryption_key_arn,
        )
        with self._lock:
            self._vaults[name] = vault
        return vault

    def script_next_job(self, script: JobScript, principal: str | None) -> None:
        if script.outcome not in SCRIPTABLE_OUTCOMES:
            raise ValueError(f"outcome must be one of {SCRIPTABLE_OUTCOMES}")
        with self._lock:
            self._scripts.append((principal, script))

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()

    @staticmethod
    def operation(request: Request) -> str | None:
        if request.method == "PUT" and request.path == "/backup-jobs":
            return "StartBackupJob"
        if request.method == "GET" and request.path in _JOBS_PATH:
            return "ListBackupJobs"
        if request.method == "GET" and _JOB_PATH.match(request.path):
            return "DescribeBackupJob"
        if request.method == "GET" and _VAULT_PATH.match(request.path):
            return "DescribeBackupVault"
        if request.method == "GET" and _POINTS_PATH.match(request.path):
            return "ListRecoveryPointsByResource"
        return None

    def handle(self, operation: str, request: Request, caller: Caller) -> Response:
        with self._lock:
            if operation == "StartBackupJob":
                return json_response(self._start(request.json(), caller))
            if operation == "DescribeBackupJob":
                match = _JOB_PATH.match(request.path)
                assert match is not None
                job = self._job(match[1])
                return json_response(job.describe(blocked=self._held_by_another(job)))
            if operation == "ListBackupJobs":
                return json_response(self._list(request.query, caller))
            if operation == "ListRecoveryPointsByResource":
                match = _POINTS_PATH.match(request.path)
                assert match is not None
                return json_response(self._recovery_points(match[1], request.query, caller))
            match = _VAULT_PATH.match(request.path)
            assert match is not None
            return json_response(self._describe_vault(match[1]))

    def _start(self, body: dict[str, Any], caller: Caller) -> dict[str, Any]:
        for name in ("BackupVaultName", "ResourceArn", "IamRoleArn"):
            if not body.get(name):
                raise AwsError("MissingParameterValueException", f"{name} is required")
        vault = self._vaults.get(body["BackupVaultName"])
        if vault is None:
            raise AwsError(
                "ResourceNotFoundException",
                f"Backup vault {body['BackupVaultName']} does not exist in this account",
            )
        _resource_type(body["ResourceArn"])
        window = body.get("StartWindowMinutes")
        if window is not None and window < 60:
            raise AwsError(
                "InvalidParameterValueException", "StartWindowMinutes must be at least 60"
            )
        lifecycle = body.get("Lifecycle") or {}
        delete_after = lifecycle.get("DeleteAfterDays")
        if delete_after is not None and delete_after < 1:
            raise AwsError("InvalidParameterValueException", "DeleteAfterDays must be at least 1")
        principal = caller.credentials.principal
        token = body.get("IdempotencyToken")
        if token and (principal, token) in self._by_token:
            # A retry of a call that succeeded (e.g. its answer was lost): same job, no action.
            return self._started(self._by_token[(principal, token)])
        script = self._next_script(principal)
        violation = vault.lock_violation(delete_after)
        if violation:
            script = JobScript("FAILED", polls=1, message=violation)
        data = None
        if self._plane is not None and not violation:
            try:  # the data as of the job's start, as a snapshot takes it
                data = self._plane.capture(body["ResourceArn"], _resource_type(body["ResourceArn"]))
            except Exception as error:  # the job fails, as AWS Backup's would, saying why
                script = JobScript("FAILED", polls=1, message=f"stand-in: no copy taken: {error}")
        job_id = str(uuid.uuid4()).upper()
        job = Job(
            id=job_id,
            vault=vault,
            request=body,
            principal=principal,
            script=script,
            created=time.time(),
            recovery_point_arn=(
                f"arn:aws:backup:{self._region}:{ACCOUNT_ID}:recovery-point:{uuid.uuid4()}"
            ),
            data=data,
        )
        self._jobs[job_id] = job
        if token:
            self._by_token[(principal, token)] = job
        return self._started(job)

    @staticmethod
    def _started(job: Job) -> dict[str, Any]:
        return {
            "BackupJobId": job.id,
            "RecoveryPointArn": job.recovery_point_arn,
            "CreationDate": job.created,
            "IsParent": False,
        }

    def _next_script(self, principal: str) -> JobScript:
        for entry in self._scripts:
            if entry[0] in (None, principal):
                self._scripts.remove(entry)
                return entry[1]
        return JobScript()

    def add_plan_job(
        self,
        *,
        resource_arn: str,
        vault_name: str,
        iam_role_arn: str,
        plan: PlanRun,
        principal: str,
    ) -> str:
        """A plan's scheduled job of the resource, already active (control API); with
        `listings` 0, already COMPLETED: a recovery point the plan made."""
        if plan.state not in ("CREATED", "RUNNING"):
            raise ValueError("a plan job starts CREATED or RUNNING")
        data = None
        if self._plane is not None:  # the data as of the job's start, as for a started job
            data = self._plane.capture(resource_arn, _resource_type(resource_arn))
        with self._lock:
            vault = self._vaults[vault_name]
            job = Job(
                id=str(uuid.uuid4()).upper(),
                vault=vault,
                request={
                    "ResourceArn": resource_arn,
                    "IamRoleArn": iam_role_arn,
                    "StartWindowMinutes": 60,
                },
                principal=principal,
                script=JobScript(),
                created=time.time(),
                recovery_point_arn=(
                    f"arn:aws:backup:{self._region}:{ACCOUNT_ID}:recovery-point:{uuid.uuid4()}"
                ),
                plan=plan,
                data=data,
            )
            self._jobs[job.id] = job
        return job.id

    def _held_by_another(self, job: Job) -> bool:
        """Whether an earlier active job of the same resource (and principal) keeps `job` from
        starting: AWS Backup runs one backup job per resource at a time."""
        if job.plan or job.polls > 0 or job.ended:
            return False
        return any(
            other is not job
            and other.active
            and other.created <= job.created
            and other.principal == job.principal
            and other.request["ResourceArn"] == job.request["ResourceArn"]
            and (other.plan is not None or other.polls > 0)
            for other in self._jobs.values()
        )

    def _list(self, query: dict[str, str], caller: Caller) -> dict[str, Any]:
        """ListBackupJobs: the caller's jobs, filtered as the model's querystring says."""
        state = query.get("state")
        if state is not None and state not in ALL_STATES:
            raise AwsError("InvalidParameterValueException", f"Invalid state: {state}")
        after, before = (
            query_timestamp(query.get("createdAfter")),
            query_timestamp(query.get("createdBefore")),
        )
        start, size = page_bounds(query)
        matching = [
            job
            for job in sorted(self._jobs.values(), key=lambda job: job.created)
            if job.principal == caller.credentials.principal
            and query.get("resourceArn") in (None, job.request["ResourceArn"])
            and state in (None, job.state)
            and query.get("backupVaultName") in (None, job.vault.name)
            and query.get("resourceType") in (None, _resource_type(job.request["ResourceArn"]))
            and (after is None or job.created > after)
            and (before is None or job.created < before)
        ]
        page = matching[start : start + size]
        listed = [job.body() for job in page]
        for job in page:
            job.listed += 1
        answer: dict[str, Any] = {"BackupJobs": listed}
        if start + size < len(matching):
            answer["NextToken"] = str(start + size)
        return answer

    def _recovery_points(
        self, resource_arn: str, query: dict[str, str], caller: Caller
    ) -> dict[str, Any]:
        """ListRecoveryPointsByResource: the resource's recovery points the caller may list,
        oldest first. Every one here is AWS Backup's, so managedByAWSBackupOnly changes
        nothing."""
        resource_type = _resource_type(resource_arn)
        if query.get("managedByAWSBackupOnly", "false") not in ("true", "false"):
            raise AwsError("InvalidParameterValueException", "Invalid managedByAWSBackupOnly")
        start, size = page_bounds(query)
        credentials = caller.credentials
        matching = [
            job
            for job in sorted(self._jobs.values(), key=lambda job: job.created)
            if job.request["ResourceArn"] == resource_arn
            and job.state in POINT_STATES
            and (credentials.account_view or job.principal == credentials.principal)
        ]
        # DynamoDB and Aurora recovery points keep their source's key; S3's take the vault's.
        source_key = None if resource_type == "S3" else self._source_keys.get(resource_arn)
        points = []
        for job in matching[start : start + size]:
            point: dict[str, Any] = {
                "RecoveryPointArn": job.recovery_point_arn,
                "CreationDate": job.created,
                "Status": job.state,
                "BackupSizeBytes": 1024,
                "BackupVaultName": job.vault.name,
                "IsParent": False,
                "ResourceName": resource_name(resource_arn),
                "VaultType": "BACKUP_VAULT",
            }
            key = source_key or job.vault.encryption_key_arn
            if key:
                point["EncryptionKeyArn"] = key
                point["EncryptionKeyType"] = "CUSTOMER_MANAGED_KMS_KEY"
            points.append(point)
        answer: dict[str, Any] = {"RecoveryPoints": points}
        if start + size < len(matching):
            answer["NextToken"] = str(start + size)
        return answer

    def _job(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise AwsError("ResourceNotFoundException", f"Backup job {job_id} not found")
        return job

    def _describe_vault(self, name: str) -> dict[str, Any]:
        vault = self._vaults.get(name)
        if vault is None:
            raise AwsError(
                "ResourceNotFoundException", f"Backup vault {name} does not exist in this account"
            )
        body: dict[str, Any] = {
            "BackupVaultName": vault.name,
            "BackupVaultArn": vault.arn,
            "VaultType": "BACKUP_VAULT",
            "VaultState": "AVAILABLE",
            "CreationDate": vault.created,
            "NumberOfRecoveryPoints": sum(
                1 for job in self._jobs.values() if job.vault is vault and job.state == "COMPLETED"
            ),
            "Locked": vault.min_retention_days is not None or vault.max_retention_days is not None,
        }
        if vault.encryption_key_arn:
            body["EncryptionKeyArn"] = vault.encryption_key_arn
            body["EncryptionKeyType"] = "CUSTOMER_MANAGED_KMS_KEY"
        if vault.min_retention_days is not None:
            body["MinRetentionDays"] = vault.min_retention_days
        if vault.max_retention_days is not None:
            body["MaxRetentionDays"] = vault.max_retention_days
        return body
