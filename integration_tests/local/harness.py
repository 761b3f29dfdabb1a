"""The local stage: every server the suite's local mode needs, started once, removed after.

- PostgreSQL 15 with TLS (postgres.py) for the proxy's writer and reader endpoints;
- moto's server (moto.py) for DynamoDB, S3, KMS, IAM, STS, SQS, EventBridge and
  CloudFormation;
- the stand-in (integration_tests.standin) for AWS Backup, Lambda and the RDS of
  restored clusters, which runs the synthesized health-check asset with the environment
  variable names its template gives; its backup jobs copy the stores' data through the data
  plane (restore_data.py) so that restores return it, and its restore job events go to
  moto's EventBridge.

Everything listens on 127.0.0.1 only, every wait is bounded, and the servers, worker
processes and temporary directories are removed on exit, also when a test fails. Use it as
a context manager (`with local_stage() as stage:`), from pytest (conftest.py) or a script
(e.g. a benchmark: see measure_handler).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from integration_tests.health import invoke_health_check
from integration_tests.local.assembly import DEFAULT_CDK_OUT, AssemblyError, read_stage
from integration_tests.local.moto import (
    ADMIN_USER,
    MotoStage,
    assumable_role,
    create_stacks,
    create_stage,
    enforce_iam,
    iam_user,
    issued_credentials,
)
from integration_tests.local.moto import moto_server as start_moto
from integration_tests.local.postgres import PostgresServer, postgres_server
from integration_tests.local.restore_data import LocalDataPlane
from integration_tests.local.tls import TlsFiles, make_tls_files
from integration_tests.standin import FunctionConfig, Keys, Standin, StandinClient

STAGE = "Standin"
REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTION_NAME = f"{STAGE}-Service-HealthCheckFunction"
VAULT_NAME = f"{STAGE}DataBackupVault"
BACKUP_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{STAGE}-Data-BackupRole"  # the plans' jobs
BACKUP_TEST_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{STAGE}-Data-BackupTestRole"  # the release's
POST_DEPLOY_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/dr-release-{STAGE}-post-deploy-test"
# Like prod's example vault lock, so the suite's retention must satisfy a lock locally too.
VAULT_MIN_RETENTION_DAYS, VAULT_MAX_RETENTION_DAYS = 7, 35
BUCKET_NAME = "dr-local-bucket"
# The stage's Aurora cluster as AWS Backup names it: backing it up copies the local database.
CLUSTER_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:dr-local-cluster"
_WORKDIR_PREFIX = "dr-local-"
# The backup poll's intervals in local mode (AWS: 5 s growing to 30 s).
LOCAL_POLL = {"BACKUP_POLL_INITIAL_SECONDS": "0.05", "BACKUP_POLL_MAX_SECONDS": "0.2"}


@dataclass(frozen=True)
class Runner:
    """A pipeline's runner for one suite run: its own key, and the post-deploy role that
    trusts only it. The stand-in scopes what the run's assumed role calls to `role_arn`."""

    keys: Keys
    role_arn: str


@dataclass(frozen=True)
class LocalStage:
    workdir: Path
    tls: TlsFiles
    postgres: PostgresServer
    moto: MotoStage
    standin: StandinClient
    standin_url: str
    function: FunctionConfig
    template_environment_names: tuple[str, ...]  # what the template gives the function
    data_plane: LocalDataPlane

    def aws_env(self, keys: Keys) -> dict[str, str]:
        """Endpoints, Region and credentials for boto3: moto by default (STS included), the
        stand-in for Backup and Lambda. No shared config or credentials file is read."""
        return {
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.moto.url,
            "AWS_ENDPOINT_URL_BACKUP": self.standin_url,
            "AWS_ENDPOINT_URL_LAMBDA": self.standin_url,
            "AWS_ACCESS_KEY_ID": keys.access_key_id,
            "AWS_SECRET_ACCESS_KEY": keys.secret_access_key,
            "AWS_CONFIG_FILE": str(self.workdir / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.workdir / "no-aws-credentials"),
        }

    def post_deploy_env(
        self, keys: Keys, *, assume_role: bool = True, role_arn: str = POST_DEPLOY_ROLE_ARN
    ) -> dict[str, str]:
        """What the pipeline's post-deploy step gets (DR_TARGET=env), for this local stage."""
        env = {
            **self.aws_env(keys),
            **LOCAL_POLL,
            "DR_TARGET": "env",
            "DR_STAGE": STAGE,
            "HEALTH_CHECK_FUNCTION_NAME": self.function.name,
            "TABLE_ARN": self.moto.table_arn,
            "BACKUP_VAULT_NAME": VAULT_NAME,
            "BACKUP_ROLE_ARN": BACKUP_TEST_ROLE_ARN,
            "BACKUP_TEST": "true",
            "BACKUP_RETENTION_DAYS": str(VAULT_MIN_RETENTION_DAYS),
            "BACKUP_TIMEOUT_SECONDS": "30",
        }
        if assume_role:
            env["POST_DEPLOY_ROLE_ARN"] = role_arn
        return env

    def new_runner(self) -> Runner:
        """A runner of its own (a moto IAM user) and a post-deploy role that trusts only it.
        Its identity policy allows assuming any post-deploy role, so that only the roles'
        trust policies keep a runner from another's role (moto's STS enforces both)."""
        suffix = uuid.uuid4().hex[:8]
        role_arn = f"{POST_DEPLOY_ROLE_ARN}-{suffix}"
        user = f"dr-local-runner-{suffix}"
        allow = {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": f"{POST_DEPLOY_ROLE_ARN}*",
        }
        keys = iam_user(self.moto.client("iam"), user, [allow])
        assumable_role(self.moto, role_arn, user)
        self.standin.register_keys(keys)
        return Runner(keys, role_arn)

    def lambda_client(self) -> Any:
        return boto3.client(
            "lambda",
            endpoint_url=self.standin_url,
            region_name=REGION,
            aws_access_key_id=self.moto.admin.access_key_id,
            aws_secret_access_key=self.moto.admin.secret_access_key,
        )

    def register_function(self, name: str, **environment: str) -> FunctionConfig:
        """Another function with the same asset, its environment changed (e.g. SSL_CERT_FILE)."""
        config = FunctionConfig(
            name=name,
            asset_dir=self.function.asset_dir,
            handler=self.function.handler,
            environment={**self.function.environment, **environment},
            log_file=self.workdir / f"{name}.log",
            timeout_seconds=self.function.timeout_seconds,
            memory_mb=self.function.memory_mb,
        )
        self.standin.register_function(config)
        return config


def _function_environment(
    template: dict[str, str | None], local: dict[str, str], runtime: dict[str, str]
) -> dict[str, str]:
    """The template's variable names, each with its local value or the template's literal,
    plus what the Lambda runtime would provide."""
    environment: dict[str, str] = {}
    for name, literal in template.items():
        value = local.get(name, literal)
        if value is None:
            raise AssemblyError(f"the template computes {name}; local mode has no value for it")
        environment[name] = value
    return {**environment, **runtime}


def _remove_abandoned_workdirs() -> None:
    """Servers die with their test run (parent-death signal), but a killed run cannot remove
    its directory: the next run removes those whose owner process is gone."""
    for workdir in Path(tempfile.gettempdir()).glob(_WORKDIR_PREFIX + "*"):
        try:
            os.kill(int((workdir / "owner.pid").read_text()), 0)
        except ProcessLookupError:
            shutil.rmtree(workdir, ignore_errors=True)
        except (OSError, ValueError):
            continue  # not ours to judge: unreadable, or its owner is alive


@contextmanager
def local_stage(cdk_out: Path = DEFAULT_CDK_OUT) -> Iterator[LocalStage]:
    templates = read_stage(cdk_out)
    spec = templates.function
    user, database = spec.environment.get("DB_USER"), spec.environment.get("DB_NAME")
    if not user or not database:
        raise AssemblyError("the function's DB_USER and DB_NAME must be literals")
    _remove_abandoned_workdirs()
    with ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix=_WORKDIR_PREFIX))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        (workdir / "owner.pid").write_text(str(os.getpid()))
        moto = stack.enter_context(start_moto(workdir / "moto.log"))  # starts meanwhile
        tls = make_tls_files(workdir)
        postgres = stack.enter_context(postgres_server(tls, user, database, workdir))
        moto.wait_ready()
        moto_stage = create_stage(
            moto.url,
            REGION,
            templates.key_schema,
            templates.attribute_definitions,
            BUCKET_NAME,
        )
        server = Standin(REGION, issued_credentials(moto_stage.url))
        stack.callback(server.close)
        plane = LocalDataPlane(
            moto=moto_stage,
            postgres=postgres,
            tls=tls,
            workdir=workdir,
            rds=server.rds,
            cluster_arn=CLUSTER_ARN,
            database=database,
        )
        stack.callback(plane.close)
        server.backup.attach_data_plane(plane)
        server.restores.attach(plane, _event_bus(moto_stage))
        standin = StandinClient(server.url)
        standin.register_keys(moto_stage.admin)  # the "developer's" key signs for both
        # The stage's post-deploy role, trusting the "developer" (the session's own key).
        assumable_role(moto_stage, POST_DEPLOY_ROLE_ARN, ADMIN_USER)
        standin.add_vault(VAULT_NAME, VAULT_MIN_RETENTION_DAYS, VAULT_MAX_RETENTION_DAYS)
        no_file = str(workdir / "no-aws-config")
        function = FunctionConfig(
            name=FUNCTION_NAME,
            asset_dir=spec.asset_dir,
            handler=spec.handler,
            environment=_function_environment(
                spec.environment,
                local={
                    "TABLE_NAME": moto_stage.table_name,
                    "BUCKET_NAME": moto_stage.bucket_name,
                    "BUCKET_KEY_ARN": moto_stage.key_arn,
                    "DB_ENDPOINT": "127.0.0.1",
                    "DB_READER_ENDPOINT": "127.0.0.1",
                    "DB_PORT": str(postgres.port),
                },
                runtime={
                    "AWS_REGION": REGION,
                    "AWS_ENDPOINT_URL": moto_stage.url,
                    "AWS_ACCESS_KEY_ID": moto_stage.function.access_key_id,
                    "AWS_SECRET_ACCESS_KEY": moto_stage.function.secret_access_key,
                    "SSL_CERT_FILE": str(tls.ca_cert),
                    # Not Lambda's, but keeps a developer's ~/.aws files out of the function.
                    "AWS_CONFIG_FILE": no_file,
                    "AWS_SHARED_CREDENTIALS_FILE": no_file,
                },
            ),
            log_file=workdir / "health-check.log",
            timeout_seconds=spec.timeout_seconds,
            memory_mb=spec.memory_mb,
        )
        standin.register_function(function)
        create_stacks(
            moto_stage,
            STAGE,
            {
                "Data": {
                    "TableArn": moto_stage.table_arn,
                    "BackupVaultName": VAULT_NAME,
                    "BackupRoleArn": BACKUP_ROLE_ARN,
                    "BackupTestRoleArn": BACKUP_TEST_ROLE_ARN,
                },
                "Service": {
                    "HealthCheckFunctionName": FUNCTION_NAME,
                    "PostDeployRoleArn": POST_DEPLOY_ROLE_ARN,
                    "BackupTestOnRelease": "true",
                },
            },
        )
        enforce_iam(moto_stage.url)
        yield LocalStage(
            workdir,
            tls,
            postgres,
            moto_stage,
            standin,
            server.url,
            function,
            tuple(spec.environment),
            plane,
        )


def _event_bus(moto: MotoStage) -> Any:
    """AWS Backup's events, put on moto's default event bus: its rules (and their targets,
    such as the validator's step queue) take them from there, as EventBridge's would."""
    events = moto.client("events")

    def put(detail_type: str, detail: dict[str, Any], resources: list[str]) -> None:
        entry = {
            "Source": "aws.backup",
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "Resources": resources,
        }
        answer = events.put_events(Entries=[entry])
        if answer.get("FailedEntryCount"):
            raise RuntimeError(f"moto refused the event: {answer['Entries']}")

    return put


@dataclass(frozen=True)
class HandlerTimings:
    """Seconds. Cold: the handler module's import in a fresh worker (Lambda's init, without
    the interpreter's own start). Warm: invocations of a warm worker, measured by the worker
    around the handler call (`handler`) and by the caller around boto3's invoke (`round_trip`,
    which adds HTTP and the stand-in)."""

    cold_import: list[float]
    first_invocation: list[float]  # the handler call right after each cold import
    warm_handler: list[float]
    warm_round_trip: list[float]


def percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile (p50 = median of an odd count)."""
    ordered = sorted(values)
    rank = max(1, round(percent / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def measure_handler(
    stage: LocalStage, *, cold_starts: int = 5, warm_invocations: int = 50
) -> HandlerTimings:
    """Cold-import and warm-invocation timings of the synthesized handler against the local
    stores. Each invocation must be healthy, or the timings would measure a failure path."""
    client = stage.lambda_client()
    name = stage.function.name

    def invoke() -> None:
        if problems := invoke_health_check(client, name).problems():
            raise RuntimeError(f"health check not healthy: {'; '.join(problems)}")

    for _ in range(cold_starts):
        stage.standin.stop_worker(name)
        invoke()
    round_trips = []
    for _ in range(warm_invocations):
        started = time.perf_counter()
        invoke()
        round_trips.append(time.perf_counter() - started)
    timings = stage.standin.function_timings(name)
    invocations = timings.invocation_seconds
    return HandlerTimings(
        cold_import=timings.cold_import_seconds[-cold_starts:],
        first_invocation=invocations[-(cold_starts + warm_invocations) : -warm_invocations],
        warm_handler=timings.invocation_seconds[-warm_invocations:],
        warm_round_trip=round_trips,
    )


def summary(timings: HandlerTimings) -> dict[str, float]:
    """Milliseconds: cold import and first invocation medians, warm handler p50/p95, warm
    round trip p50/p95."""
    return {
        "cold_import_p50_ms": statistics.median(timings.cold_import) * 1000,
        "first_invocation_p50_ms": statistics.median(timings.first_invocation) * 1000,
        "warm_handler_p50_ms": percentile(timings.warm_handler, 50) * 1000,
        "warm_handler_p95_ms": percentile(timings.warm_handler, 95) * 1000,
        "warm_round_trip_p50_ms": percentile(timings.warm_round_trip, 50) * 1000,
        "warm_round_trip_p95_ms": percentile(timings.warm_round_trip, 95) * 1000,
    }
