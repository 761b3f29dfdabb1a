"""AWS Backup stand-in: vaults (with an optional vault lock), StartBackupJob, DescribeBackupJob
and DescribeBackupVault, after botocore's model (backup/2018-11-15, rest-json).

A job's life is driven by how often it is described, not by wall time, so tests are exact:
by default the first DescribeBackupJob says CREATED, later ones RUNNING, and the `polls`-th
one COMPLETED. A script (control API) sets the next job's outcome for a caller: COMPLETED
after N polls, FAILED/ABORTED/EXPIRED/PARTIAL with a StatusMessage, or CREATED or RUNNING
(stuck forever). Two states of AWS's that are not terminal can be passed through: PENDING
after CREATED when the script asks (`pending`), and ABORTING on the poll before ABORTED
(always, as AWS reports a job being stopped, unless that is the first poll). As in AWS, a
vault lock fails a job whose DeleteAfterDays is outside the lock's [min, max] retention: the
job is accepted, then FAILED with a StatusMessage (in the stand-in's own words).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from integration_tests.standin.auth import ACCOUNT_ID, Caller
from integration_tests.standin.protocol import AwsError, Request, Response, json_response

TERMINAL_STATES = ("COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL")
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
_JOB_PATH = re.compile(r"^/backup-jobs/([^/]+)$")
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

    @property
    def state(self) -> str:
        return self.script.state_at(self.polls)

    def describe(self) -> dict[str, Any]:
        self.polls += 1
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
            "ResourceName": resource_arn.rsplit("/", 1)[-1],
            "IamRoleArn": self.request["IamRoleArn"],
            "CreationDate": self.created,
            "InitiationDate": self.created,
            "StartBy": self.created + 60 * self.request.get("StartWindowMinutes", 480),
            "State": state,
            "PercentDone": self._percent(state),
            "IsParent": False,
        }
        if lifecycle := self.request.get("Lifecycle"):
            body["RecoveryPointLifecycle"] = lifecycle
        if state in TERMINAL_STATES:
            body["CompletionDate"] = self.completed
        if state in ("COMPLETED", "PARTIAL"):
            body["BackupSizeInBytes"] = body["BytesTransferred"] = 1024
        if state in _DEFAULT_MESSAGES:  # an unsuccessful end
            body["StatusMessage"] = self.script.message or _DEFAULT_MESSAGES[state]
        return body

    def _percent(self, state: str) -> str:
        if state == "COMPLETED":
            return "100.0"
        if state in ("CREATED", "PENDING"):
            return "0.0"
        if self.script.outcome == "RUNNING":
            return _STUCK_PERCENT
        return f"{min(99.0, 100.0 * self.polls / max(self.script.polls, 1)):.1f}"


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

    def add_vault(
        self, name: str, min_retention_days: int | None, max_retention_days: int | None
    ) -> Vault:
        vault = Vault(
            name=name,
            arn=f"arn:aws:backup:{self._region}:{ACCOUNT_ID}:backup-vault:{name}",
            created=time.time(),
            min_retention_days=min_retention_days,
            max_retention_days=max_retention_days,
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
        if request.method == "GET" and _JOB_PATH.match(request.path):
            return "DescribeBackupJob"
        if request.method == "GET" and _VAULT_PATH.match(request.path):
            return "DescribeBackupVault"
        return None

    def handle(self, operation: str, request: Request, caller: Caller) -> Response:
        with self._lock:
            if operation == "StartBackupJob":
                return json_response(self._start(request.json(), caller))
            if operation == "DescribeBackupJob":
                match = _JOB_PATH.match(request.path)
                assert match is not None
                return json_response(self._job(match[1]).describe())
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
        if violation := vault.lock_violation(delete_after):
            script = JobScript("FAILED", polls=1, message=violation)
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
        if vault.min_retention_days is not None:
            body["MinRetentionDays"] = vault.min_retention_days
        if vault.max_retention_days is not None:
            body["MaxRetentionDays"] = vault.max_retention_days
        return body
