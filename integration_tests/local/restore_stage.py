"""The restore validator on the local stage: its function (the synthesized asset when the stage
has one, else the same bundle assembled here by stages/components/bundling.py), its step
queue and the EventBridge rule that feeds it, the event source mapping that drives it, and
what a test needs to back up, damage, restore and judge a store.

The function gets the template's variable names (or, until the stage has the function, the
contract's: CONTRACT_ENVIRONMENT) with local values where AWS's would not work here: the
queue's URL, the plan's ARN, the local CA as DB_CA_BUNDLE, and small waits (STEP_DELAY_SECONDS
0, which one test sets to 1; INSTANCE_WAIT_SECONDS and INSTANCE_DELETE_WAIT_SECONDS a few
seconds), like the health check's harness substitutes its endpoints. It signs as a moto IAM
user whose grants mirror what the validator reads (GetItem, GetObject on restored buckets,
SendMessage); RDS and AWS Backup calls go to the stand-in. Its database role, `dr_validator`
(SELECT on dr_canary), is the roles bootstrap's, which the local stage runs first: every
recovery point carries it. The rule's pattern is the contract's (source aws.backup, detail-type
"Restore Job State Change", this plan's ARN), matched by moto's EventBridge.
"""

from __future__ import annotations

import json
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3

from integration_tests.local.assembly import AssemblyError, FunctionSpec, read_validator, same_files
from integration_tests.local.event_source import EventSourceMapping
from integration_tests.local.harness import (
    ACCOUNT,
    BUCKET_NAME,
    CLUSTER_ARN,
    REGION,
    VAULT_NAME,
    LocalStage,
)

# The stage's plan and restore role are the harness's (its stacks' outputs name them); the
# aliases re-export them from here, where the restore tests import them.
from integration_tests.local.harness import PLAN_ARN as PLAN_ARN  # noqa: PLC0414
from integration_tests.local.harness import RESTORE_ROLE_ARN as RESTORE_ROLE_ARN  # noqa: PLC0414
from integration_tests.local.moto import iam_user
from integration_tests.standin import FunctionConfig, Keys
from stages.components.bundling import RESTORE_VALIDATOR

BACKUP_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/Standin-Data-BackupRole"
FUNCTION_NAME = "Standin-Service-RestoreValidatorFunction"
VALIDATOR_USER = "restore-validator-function"
STORES = ("aurora", "dynamodb", "s3")
# What the lead's construct sets (the contract), for a stage synthesized before it.
CONTRACT_ENVIRONMENT = {
    "STEP_QUEUE_URL": None,
    "RESTORE_TESTING_PLAN_ARN": None,
    "CANARY_OBJECT_KEY": "health-check/canary.json",
    "DB_NAME": None,
    "DB_PORT": "5432",
    "DB_USER": "dr_validator",
    "DB_CA_BUNDLE": "rds-ca-bundle.pem",
    "VALIDATION_INSTANCE_CLASS": "db.t4g.medium",
    "VALIDATION_INSTANCE_PREFIX": "drv-",
    "STEP_DELAY_SECONDS": "60",
    "INSTANCE_WAIT_SECONDS": "1800",
    "INSTANCE_DELETE_WAIT_SECONDS": "1200",
    # Dev's: an hourly backup's gap plus an hour; Aurora 240 minutes, the others 120.
    "TARGET_RPO_SECONDS_AURORA": "7200",
    "TARGET_RPO_SECONDS_DYNAMODB": "7200",
    "TARGET_RPO_SECONDS_S3": "7200",
    "TARGET_RTO_SECONDS_AURORA": "14400",
    "TARGET_RTO_SECONDS_DYNAMODB": "7200",
    "TARGET_RTO_SECONDS_S3": "7200",
    "POWERTOOLS_SERVICE_NAME": "dr-restore-validator-standin",
    "POWERTOOLS_METRICS_NAMESPACE": "DisasterRecovery",
}
LOCAL_WAITS = {
    "STEP_DELAY_SECONDS": "0",
    "INSTANCE_WAIT_SECONDS": "5",
    "INSTANCE_DELETE_WAIT_SECONDS": "4",
}
VISIBILITY_TIMEOUT_SECONDS = 3
DEFAULT_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Validation:
    """How a restore job ended up: its description, the verdict's log line and metrics."""

    job: dict[str, Any]
    log: list[dict[str, Any]]  # the function's JSON lines about this job

    @property
    def verdict(self) -> dict[str, Any]:
        [line] = [x for x in self.log if x.get("message") == "DR restore validation"]
        return dict(line["verdict"])

    def metrics(self) -> dict[str, float]:
        """Metric name -> value, from this job's EMF document."""
        found: dict[str, float] = {}
        for line in self.log:
            if "_aws" in line:
                for metric in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                    value = line[metric["Name"]]  # Powertools writes a list of one
                    found[metric["Name"]] = float(value[0] if isinstance(value, list) else value)
        return found


class RestoreStage:
    def __init__(self, stage: LocalStage, cdk_out: Path | None = None) -> None:
        self.stage = stage
        self._stack = ExitStack()
        suffix = uuid.uuid4().hex[:8]
        try:
            self.keys = self._validator_user()
            # The test's own key for AWS Backup (stand-in only): its records are its own.
            self.tester = stage.standin.new_keys()
            self.backup = _client(stage.standin_url, self.tester, "backup")
            sqs = stage.moto.client("sqs")
            self.queue_url = str(
                sqs.create_queue(QueueName=f"dr-restore-steps-{suffix}")["QueueUrl"]
            )
            self._stack.callback(sqs.delete_queue, QueueUrl=self.queue_url)
            attributes = sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
            )
            self.queue_arn = str(attributes["Attributes"]["QueueArn"])
            self._rule(f"dr-restore-jobs-{suffix}")
            self.spec, self.source = self._function_spec(cdk_out)
            self.function = self.register(FUNCTION_NAME)
            self.esm = self.mapping(FUNCTION_NAME)
        except BaseException:
            self._stack.close()
            raise

    def close(self) -> None:
        self._stack.close()

    # Setting up -------------------------------------------------------------------------------

    def _validator_user(self) -> Keys:
        iam = self.stage.moto.client("iam")
        name = f"{VALIDATOR_USER}-{uuid.uuid4().hex[:6]}"
        keys = iam_user(
            iam,
            name,
            [
                {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::awsbackup-restore-test-*/*",
                },
                {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
            ],
        )
        self.stage.standin.register_keys(keys)
        return keys

    def _rule(self, name: str) -> None:
        events = self.stage.moto.client("events")
        pattern = {
            "source": ["aws.backup"],
            "detail-type": ["Restore Job State Change"],
            "detail": {"restoreTestingPlanArn": [PLAN_ARN]},
        }
        events.put_rule(Name=name, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, Targets=[{"Id": "steps", "Arn": self.queue_arn}])
        self._stack.callback(events.delete_rule, Name=name)
        self._stack.callback(events.remove_targets, Rule=name, Ids=["steps"])

    def _function_spec(self, cdk_out: Path | None) -> tuple[FunctionSpec, str]:
        """The synthesized asset when the stage has the validator, else the same bundle
        assembled here; either way checked against a fresh assembly of the sources."""
        assembled = self.stage.workdir / f"restore-validator-{uuid.uuid4().hex[:6]}"
        RESTORE_VALIDATOR.assemble(assembled)
        synthesized = read_validator(cdk_out) if cdk_out else read_validator()
        if synthesized is None:
            spec = FunctionSpec(assembled, "handler.handler", dict(CONTRACT_ENVIRONMENT), 60, 256)
            return spec, f"assembled locally ({assembled})"
        if differ := same_files(synthesized.asset_dir, assembled):
            raise AssemblyError(
                f"{synthesized.asset_dir} is stale ({', '.join(differ[:5])} differ from a fresh "
                "assembly): run `make synth` first"
            )
        return synthesized, f"synthesized ({synthesized.asset_dir})"

    def environment(self, **changes: str) -> dict[str, str]:
        stage = self.stage
        local = {
            "STEP_QUEUE_URL": self.queue_url,
            "RESTORE_TESTING_PLAN_ARN": PLAN_ARN,
            "DB_CA_BUNDLE": str(stage.tls.ca_cert),
            "DB_NAME": stage.function.environment["DB_NAME"],
            "DB_PORT": str(stage.postgres.port),
            # The deployed validator reads through its reader (a function in the VPC); here the
            # database is reachable, so it reads directly unless a test registers the reader.
            "DB_READER_FUNCTION": "",
            **LOCAL_WAITS,
        }
        environment: dict[str, str] = {}
        for name, literal in self.spec.environment.items():
            value = local.get(name, literal)
            if value is None:  # computed by the template, and no local value for it
                raise AssemblyError(f"the template computes {name}; local mode has no value for it")
            environment[name] = value
        no_file = str(stage.workdir / "no-aws-config")
        runtime = {
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": stage.moto.url,
            "AWS_ENDPOINT_URL_BACKUP": stage.standin_url,
            "AWS_ENDPOINT_URL_RDS": stage.standin_url,
            "AWS_ACCESS_KEY_ID": self.keys.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.keys.secret_access_key,
            "AWS_CONFIG_FILE": no_file,
            "AWS_SHARED_CREDENTIALS_FILE": no_file,
        }
        return {**environment, **runtime, **changes}

    def register(
        self, name: str, *, timeout_seconds: float | None = None, **changes: str
    ) -> FunctionConfig:
        """The validator's asset as a function of this name (another environment, another
        timeout: another execution environment)."""
        config = FunctionConfig(
            name=name,
            asset_dir=self.spec.asset_dir,
            handler=self.spec.handler,
            environment=self.environment(**changes),
            log_file=self.stage.workdir / f"{name}.log",
            timeout_seconds=timeout_seconds or self.spec.timeout_seconds,
            memory_mb=self.spec.memory_mb,
        )
        self.stage.standin.register_function(config)
        self._stack.callback(self.stage.standin.stop_worker, name)
        return config

    def register_reader(self, name: str) -> FunctionConfig:
        """The bundle's database reader (`handler.read_database`), for a validator outside
        the VPC: the local CA, and the validator's keys for signing IAM tokens."""
        environment = self.environment()
        config = FunctionConfig(
            name=name,
            asset_dir=self.spec.asset_dir,
            handler="handler.read_database",
            environment={
                name: environment[name]
                for name in (
                    "DB_NAME",
                    "DB_USER",
                    "DB_CA_BUNDLE",
                    "AWS_REGION",
                    "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY",
                    "AWS_CONFIG_FILE",
                    "AWS_SHARED_CREDENTIALS_FILE",
                )
            },
            log_file=self.stage.workdir / f"{name}.log",
            timeout_seconds=30,
            memory_mb=256,
        )
        self.stage.standin.register_function(config)
        self._stack.callback(self.stage.standin.stop_worker, name)
        return config

    def mapping(self, function_name: str) -> EventSourceMapping:
        return EventSourceMapping(
            sqs=self.stage.moto.client("sqs"),
            lambda_=self.stage.lambda_client(),
            queue_url=self.queue_url,
            queue_arn=self.queue_arn,
            function_name=function_name,
            visibility_timeout=VISIBILITY_TIMEOUT_SECONDS,
            region=REGION,
        )

    # A test's moves ---------------------------------------------------------------------------

    def resource_arn(self, store: str) -> str:
        return {
            "aurora": CLUSTER_ARN,
            "dynamodb": self.stage.moto.table_arn,
            "s3": f"arn:aws:s3:::{BUCKET_NAME}",
        }[store]

    def write_canary(self, store: str, moment: datetime) -> None:
        """The store's canary, as the health check would have written it at `moment`."""
        text = moment.isoformat(timespec="milliseconds")
        stage = self.stage
        if store == "dynamodb":
            stage.moto.client("dynamodb").put_item(
                TableName=stage.moto.table_name,
                Item={"id": {"S": "health-check#canary"}, "written_at": {"S": text}},
            )
        elif store == "s3":
            stage.moto.client("s3").put_object(
                Bucket=BUCKET_NAME,
                Key="health-check/canary.json",
                Body=json.dumps({"written_at": text}).encode(),
            )
        else:
            stage.postgres.psql(
                "INSERT INTO dr_canary (id, written_at) VALUES ('health-check', "
                f"'{text}') ON CONFLICT (id) DO UPDATE SET written_at = EXCLUDED.written_at",
                database=stage.function.environment["DB_NAME"],
            )

    def delete_canary(self, store: str) -> None:
        stage = self.stage
        if store == "dynamodb":
            stage.moto.client("dynamodb").delete_item(
                TableName=stage.moto.table_name, Key={"id": {"S": "health-check#canary"}}
            )
        elif store == "s3":
            stage.moto.client("s3").delete_object(
                Bucket=BUCKET_NAME, Key="health-check/canary.json"
            )
        else:
            stage.postgres.psql(
                "DELETE FROM dr_canary", database=stage.function.environment["DB_NAME"]
            )

    def back_up(self, store: str) -> str:
        """A completed backup job of the store: its recovery point's ARN."""
        backup = self.backup
        started = backup.start_backup_job(
            BackupVaultName=VAULT_NAME,
            ResourceArn=self.resource_arn(store),
            IamRoleArn=BACKUP_ROLE_ARN,
            Lifecycle={"DeleteAfterDays": 7},
        )
        for _ in range(10):
            job = backup.describe_backup_job(BackupJobId=started["BackupJobId"])
            if job["State"] == "COMPLETED":
                return str(job["RecoveryPointArn"])
        raise AssertionError(f"backup job of {store} not completed: {job['State']}")

    def restore_test(self, point_arn: str, *, outcome: str = "COMPLETED", message: str = "") -> str:
        """The stage's restore testing plan restoring the recovery point: the job's id."""
        return self.stage.standin.start_restore_test(
            point_arn,
            PLAN_ARN,
            RESTORE_ROLE_ARN,
            principal=self.tester.access_key_id,
            outcome=outcome,
            message=message,
        )

    def describe(self, job_id: str) -> dict[str, Any]:
        return dict(self.backup.describe_restore_job(RestoreJobId=job_id))

    def validate(
        self,
        job_id: str,
        *,
        esm: EventSourceMapping | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        function: FunctionConfig | None = None,
    ) -> Validation:
        """Drives the mapping until the job's validation is final, then until the queue is
        quiet (nothing may follow the verdict); the job and what the function logged."""
        mapping = esm or self.esm

        def validated() -> bool:
            return self.describe(job_id).get("ValidationStatus") in ("SUCCESSFUL", "FAILED")

        mapping.drive(validated, timeout)
        mapping.drain()
        return Validation(self.describe(job_id), self.job_log(job_id, function or self.function))

    def job_log(self, job_id: str, function: FunctionConfig | None = None) -> list[dict[str, Any]]:
        """The function's JSON log lines that concern the job (its verdict, its metrics)."""
        lines = (function or self.function).log_file.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{") and job_id in line]

    def puts(self, job_id: str) -> list[dict[str, Any]]:
        """Every PutRestoreValidationResult request of the job, answered or not."""
        records = self.stage.standin.requests(self.keys.access_key_id, "PutRestoreValidationResult")
        return [r for r in records if r["params"]["path"] == f"/restore-jobs/{job_id}/validations"]


def _client(url: str, keys: Keys, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=keys.access_key_id,
        aws_secret_access_key=keys.secret_access_key,
    )
