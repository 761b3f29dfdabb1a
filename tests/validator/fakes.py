"""In-memory AWS clients with the semantics the validator relies on: AWS Backup's restore jobs
(a final validation status cannot change), RDS clusters and instances whose statuses follow a
script, a queue that keeps what was sent, and DynamoDB and S3 reads."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

PLAN_ARN = "arn:aws:backup:us-east-1:123456789012:restore-testing-plan:dr_dev-abc"
JOB_ID = "AB123456-78C9-0123-456D-789012E34567"
INSTANCE_ID = "drv-ab12345678c90123456d789012e34567"
CLUSTER_ID = "awsbackup-restore-test-0a1b2c3d"
CLUSTER_ARN = f"arn:aws:rds:us-east-1:123456789012:cluster:{CLUSTER_ID}"
TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/awsbackup-restore-test-5e6f"
BUCKET_ARN = "arn:aws:s3:::awsbackup-restore-test-7a8b"
T0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # the restore job's creation


def client_error(code: str, operation: str, status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} message"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


class Clock:
    def __init__(self, start: datetime = T0 + timedelta(minutes=30)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakeBackup:
    """DescribeRestoreJob and PutRestoreValidationResult of one job."""

    job: dict[str, Any]
    puts: list[dict[str, Any]] = field(default_factory=list)
    put_failures: list[ClientError] = field(default_factory=list)  # raised by the next puts
    calls: list[str] = field(default_factory=list)

    def describe_restore_job(self, RestoreJobId: str) -> dict[str, Any]:  # noqa: N803
        self.calls.append("DescribeRestoreJob")
        if RestoreJobId != self.job["RestoreJobId"]:
            raise client_error("ResourceNotFoundException", "DescribeRestoreJob")
        return dict(self.job)

    def put_restore_validation_result(self, **request: Any) -> dict[str, Any]:
        self.calls.append("PutRestoreValidationResult")
        if self.put_failures:
            raise self.put_failures.pop(0)
        if self.job.get("ValidationStatus") in ("SUCCESSFUL", "FAILED", "TIMED_OUT"):
            raise client_error("InvalidRequestException", "PutRestoreValidationResult")
        self.puts.append(request)
        self.job["ValidationStatus"] = request["ValidationStatus"]
        self.job["ValidationStatusMessage"] = request.get("ValidationStatusMessage")
        return {}


def restore_job(resource_type: str, created_arn: str, **changes: Any) -> dict[str, Any]:
    job = {
        "AccountId": "123456789012",
        "RestoreJobId": JOB_ID,
        "Status": "COMPLETED",
        "ResourceType": resource_type,
        "CreationDate": T0,
        "CompletionDate": T0 + timedelta(minutes=20),
        "CreatedResourceArn": created_arn,
        "RecoveryPointArn": "arn:aws:backup:us-east-1:123456789012:recovery-point:rp-1",
        "RecoveryPointCreationDate": T0 - timedelta(minutes=50),
        "CreatedBy": {"RestoreTestingPlanArn": PLAN_ARN},
    }
    job.update(changes)
    return job


@dataclass
class FakeRds:
    """Restored clusters and instances. A status script is the statuses successive describes
    report; the last repeats. An instance goes `deleting` when deleted and is gone after
    `gone_after` more describes (None: never)."""

    clusters: dict[str, list[str]] = field(default_factory=dict)
    instance_script: list[str] = field(default_factory=lambda: ["creating", "available"])
    gone_after: int | None = 1
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    faults: dict[str, list[Exception]] = field(default_factory=dict)

    def _call(self, name: str, request: dict[str, Any]) -> None:
        self.calls.append((name, request))
        if self.faults.get(name):
            raise self.faults[name].pop(0)

    def operations(self) -> list[str]:
        return [name for name, _ in self.calls]

    def describe_db_clusters(self, **request: Any) -> dict[str, Any]:
        self._call("DescribeDBClusters", request)
        script = self.clusters.get(request["DBClusterIdentifier"])
        if script is None:
            raise client_error("DBClusterNotFoundFault", "DescribeDBClusters", 404)
        status = script.pop(0) if len(script) > 1 else script[0]
        return {"DBClusters": [{"Status": status, "Engine": "aurora-postgresql"}]}

    def create_db_instance(self, **request: Any) -> dict[str, Any]:
        self._call("CreateDBInstance", request)
        identifier = request["DBInstanceIdentifier"]
        if identifier in self.instances:
            raise client_error("DBInstanceAlreadyExists", "CreateDBInstance")
        self.instances[identifier] = {
            "cluster": request["DBClusterIdentifier"],
            "script": list(self.instance_script),
            "deleting": None,
        }
        return {"DBInstance": {"DBInstanceIdentifier": identifier}}

    def describe_db_instances(self, **request: Any) -> dict[str, Any]:
        self._call("DescribeDBInstances", request)
        identifier = request["DBInstanceIdentifier"]
        instance = self.instances.get(identifier)
        if instance is None:
            raise client_error("DBInstanceNotFound", "DescribeDBInstances", 404)
        if instance["deleting"] is not None:
            if self.gone_after is not None and instance["deleting"] >= self.gone_after:
                del self.instances[identifier]
                raise client_error("DBInstanceNotFound", "DescribeDBInstances", 404)
            instance["deleting"] += 1
            status = "deleting"
        else:
            script = instance["script"]
            status = script.pop(0) if len(script) > 1 else script[0]
        return {
            "DBInstances": [
                {
                    "DBInstanceStatus": status,
                    "DBClusterIdentifier": instance["cluster"],
                    "Endpoint": {"Address": f"{identifier}.example.internal", "Port": 5432},
                }
            ]
        }

    def delete_db_instance(self, **request: Any) -> dict[str, Any]:
        self._call("DeleteDBInstance", request)
        instance = self.instances.get(request["DBInstanceIdentifier"])
        if instance is None:
            raise client_error("DBInstanceNotFound", "DeleteDBInstance", 404)
        if instance["deleting"] is not None:
            raise client_error("InvalidDBInstanceState", "DeleteDBInstance")
        instance["deleting"] = 0
        return {}

    def generate_db_auth_token(self, **request: Any) -> str:
        return f"{request['DBHostname']}:{request['Port']}/?Action=connect&X-Amz-Signature=abc"


@dataclass
class FakeSqs:
    sent: list[dict[str, Any]] = field(default_factory=list)  # not yet delivered
    history: list[dict[str, Any]] = field(default_factory=list)  # every message sent
    failures: list[Exception] = field(default_factory=list)

    def send_message(self, **request: Any) -> dict[str, Any]:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(request)
        self.history.append(request)
        return {"MessageId": str(len(self.sent))}

    def take(self) -> Iterator[str]:
        """The bodies sent, oldest first, each handed out once."""
        while self.sent:
            yield self.sent.pop(0)["MessageBody"]


@dataclass
class FakeDynamoDB:
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # table -> the canary item
    error: Exception | None = None

    def get_item(self, **request: Any) -> dict[str, Any]:
        assert request["ConsistentRead"] is True
        assert request["Key"] == {"id": {"S": "health-check#canary"}}
        if self.error:
            raise self.error
        if request["TableName"] not in self.items:
            return {}
        return {"Item": self.items[request["TableName"]]}


@dataclass
class FakeS3:
    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    buckets: set[str] = field(default_factory=set)

    def get_object(self, **request: Any) -> dict[str, Any]:
        if request["Bucket"] not in self.buckets:
            raise client_error("NoSuchBucket", "GetObject", 404)
        body = self.objects.get((request["Bucket"], request["Key"]))
        if body is None:
            raise client_error("NoSuchKey", "GetObject", 404)
        return {"Body": io.BytesIO(body)}


@dataclass
class FakeConnection:
    rows: list[tuple[Any, ...]] | Exception
    statements: list[str] = field(default_factory=list)
    closed: bool = False

    def run(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        self.statements.append(sql)
        if isinstance(self.rows, Exception):
            raise self.rows
        return self.rows

    def close(self) -> None:
        self.closed = True


def canary_body(moment: datetime) -> bytes:
    return json.dumps({"written_at": moment.isoformat(timespec="milliseconds")}).encode()


@dataclass
class World:
    """Every fake the validator acts through, and the SQS event shape it is invoked with."""

    backup: FakeBackup
    rds: FakeRds = field(default_factory=FakeRds)
    sqs: FakeSqs = field(default_factory=FakeSqs)
    dynamodb: FakeDynamoDB = field(default_factory=FakeDynamoDB)
    s3: FakeS3 = field(default_factory=FakeS3)
    lambda_: FakeLambda | None = None
    clock: Clock = field(default_factory=Clock)
    connections: list[dict[str, Any]] = field(default_factory=list)
    database_rows: list[tuple[Any, ...]] | Exception = field(default_factory=list)

    def client(self, service: str) -> Any:
        return {
            "backup": self.backup,
            "rds": self.rds,
            "sqs": self.sqs,
            "dynamodb": self.dynamodb,
            "s3": self.s3,
            "lambda": self.lambda_,
        }[service]

    def connect(self, **options: Any) -> FakeConnection:
        self.connections.append(options)
        return FakeConnection(self.database_rows)

    def event(self, status: str = "COMPLETED", plan_arn: str | None = PLAN_ARN) -> str:
        detail: dict[str, Any] = {"restoreJobId": JOB_ID, "status": status}
        if plan_arn:
            detail["restoreTestingPlanArn"] = plan_arn
        return json.dumps(
            {"source": "aws.backup", "detail-type": "Restore Job State Change", "detail": detail}
        )


Hook = Callable[[World], None]


@dataclass
class FakeLambda:
    """Invoke of the database reader: answers what `answer` returns for the event."""

    answer: Callable[[dict[str, Any]], Any]
    invoked: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, **request: Any) -> dict[str, Any]:
        event = json.loads(request["Payload"])
        self.invoked.append({"FunctionName": request["FunctionName"], **event})
        return {"Payload": io.BytesIO(json.dumps(self.answer(event)).encode())}
