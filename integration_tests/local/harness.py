"""The local stage: every server the suite's local mode needs, started once, removed after.

- PostgreSQL 15 with TLS (postgres.py) for the proxy's writer and reader endpoints (and the
  cluster's writer, which the database roles bootstrap signs in to);
- moto's server (moto.py) for DynamoDB, S3, KMS, IAM, STS, Secrets Manager, SNS, SQS,
  EventBridge, CloudWatch and CloudFormation;
- the stand-in (integration_tests.standin) for AWS Backup, Lambda and RDS (the stage's live
  cluster, its point-in-time restores and the clusters AWS Backup restores), which runs the
  synthesized health-check and bootstrap assets with the environment variable names their
  templates give, and the restore validator bundle's database reader; its backup jobs copy
  the stores' data through the data plane (restore_data.py) so that restores return it, and
  its restore job events go to moto's EventBridge.

The `Standin-Data` and `Standin-Service` stacks in moto's CloudFormation carry the outputs a
deployed stage's stacks have (STAGE_OUTPUTS' keys), with local values, so that the suite's
by-stage-name target and `dr` read them with DescribeStacks as they would in AWS. The stage's
admin key (the developer's) has the stand-in's account view: it lists every test's recovery
points and restore jobs, as `dr` must.

Before anything else runs, the stage does what the Data stack's custom resource does on
Create: the synthesized bootstrap, invoked through the stand-in with the properties its
template names, creates the least-privilege roles and dr_canary as the `postgres` superuser
(standing for the RDS master user, its credentials in moto's Secrets Manager). PostgreSQL has
no `rds_iam` role (RDS's, for IAM authentication), so the stage creates one, NOLOGIN, to stand
for it: the bootstrap grants it, and locally it grants nothing.

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
from integration_tests.local.assembly import (
    DEFAULT_CDK_OUT,
    AssemblyError,
    FunctionSpec,
    read_stage,
)
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
from integration_tests.standin.rds import LiveCluster
from stages.components.bundling import RESTORE_VALIDATOR

STAGE = "Standin"
REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTION_NAME = f"{STAGE}-Service-HealthCheckFunction"
BOOTSTRAP_NAME = f"{STAGE}-Data-DatabaseRolesFunction"
# The local server's superuser stands for the RDS master user.
MASTER_USER = "postgres"
VAULT_NAME = f"{STAGE}DataBackupVault"
BACKUP_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{STAGE}-Data-BackupRole"  # the plans' jobs
BACKUP_TEST_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{STAGE}-Data-BackupTestRole"  # the release's
POST_DEPLOY_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/dr-release-{STAGE}-post-deploy-test"
# Like prod's example vault lock, so the suite's retention must satisfy a lock locally too.
VAULT_MIN_RETENTION_DAYS, VAULT_MAX_RETENTION_DAYS = 7, 35
BUCKET_NAME = "dr-local-bucket"
# The stage's Aurora cluster as AWS Backup names it: backing it up copies the local database.
CLUSTER_ID = "dr-local-cluster"
CLUSTER_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{CLUSTER_ID}"
# The restore testing plan and the role its restores run as (restore_stage.py plays the plan).
PLAN_ARN = f"arn:aws:backup:{REGION}:{ACCOUNT}:restore-testing-plan:dr_standin_restores-1a2b3c"
RESTORE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{STAGE}-Data-RestoreRole"
# The restore validator bundle's database reader (`handler.read_database`), as a function.
READER_NAME = f"{STAGE}-Service-RestoreReader"
READER_HANDLER = "handler.read_database"
READER_USER = "restore-reader-function"
VALIDATOR_DB_USER = "dr_validator"  # the roles bootstrap's; the reader signs in as it
# The stage's network and settings as its outputs name them; locally they are names only.
CLUSTER_SECURITY_GROUP = "sg-local-cluster"
RESTORED_CLUSTER_SECURITY_GROUP = "sg-local-restored"
DB_SUBNET_GROUP = "local-data-subnets"
DB_CLUSTER_PARAMETER_GROUP = "local-cluster-params"
DB_INSTANCE_CLASS = "db.t4g.medium"
BACKUP_RETENTION_DAYS = 7
# Dev's targets (config): an hourly backup's gap plus an hour; Aurora's RTO 4 hours.
RESTORE_TARGETS = {
    "aurora": {"rpoSeconds": 7200, "rtoSeconds": 14400},
    "dynamodb": {"rpoSeconds": 7200, "rtoSeconds": 7200},
    "s3": {"rpoSeconds": 7200, "rtoSeconds": 7200},
}
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
class BootstrapRun:
    """One invocation of the bootstrap: Lambda's FunctionError and the payload (the handler's
    result, or the error's errorMessage and errorType, as the provider framework gets them)."""

    function_error: str | None
    payload: dict[str, Any]

    @property
    def message(self) -> str:
        return str(self.payload.get("errorMessage", ""))


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
    bootstrap: FunctionConfig  # the database roles bootstrap
    bootstrap_properties: dict[str, str]  # what its custom resource sends, with local values
    bootstrap_resource_type: str
    data_plane: LocalDataPlane
    reader: FunctionConfig  # the restore validator bundle's database reader
    outputs: dict[str, dict[str, str]]  # the stacks' outputs: "Data" and "Service"
    started: float  # when the stage started: the live cluster's EarliestRestorableTime

    def aws_env(self, keys: Keys) -> dict[str, str]:
        """Endpoints, Region and credentials for boto3: moto by default (STS included), the
        stand-in for Backup, Lambda and RDS. No shared config or credentials file is read."""
        return {
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.moto.url,
            "AWS_ENDPOINT_URL_BACKUP": self.standin_url,
            "AWS_ENDPOINT_URL_LAMBDA": self.standin_url,
            "AWS_ENDPOINT_URL_RDS": self.standin_url,
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
            # The release drill runs where a scenario sets DRILL_ON_RELEASE (its bound here).
            "DRILL_TIMEOUT_SECONDS": "30",
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
        allow_release_drill(self.moto, role_arn)
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
        return self._register(self.function, name, environment)

    def register_bootstrap(self, name: str, **environment: str) -> FunctionConfig:
        """Another function with the bootstrap's asset, its environment changed."""
        return self._register(self.bootstrap, name, environment)

    def _register(
        self, base: FunctionConfig, name: str, environment: dict[str, str]
    ) -> FunctionConfig:
        config = FunctionConfig(
            name=name,
            asset_dir=base.asset_dir,
            handler=base.handler,
            environment={**base.environment, **environment},
            log_file=self.workdir / f"{name}.log",
            timeout_seconds=base.timeout_seconds,
            memory_mb=base.memory_mb,
        )
        self.standin.register_function(config)
        return config

    def run_bootstrap(
        self,
        request_type: str = "Update",
        function: FunctionConfig | None = None,
        **properties: str,
    ) -> BootstrapRun:
        """Invoke the bootstrap (or a variant of it) as CDK's provider framework does: the
        CloudFormation request, with the template's properties (local values, `properties`
        over them)."""
        event = bootstrap_event(
            request_type, {**self.bootstrap_properties, **properties}, self.bootstrap_resource_type
        )
        response = self.lambda_client().invoke(
            FunctionName=(function or self.bootstrap).name, Payload=json.dumps(event).encode()
        )
        return BootstrapRun(
            response.get("FunctionError"), json.loads(response["Payload"].read() or b"{}")
        )


def _local_values(template: dict[str, str | None], local: dict[str, str]) -> dict[str, str]:
    """The template's names (variables, properties), each with its local value or the
    template's literal."""
    values: dict[str, str] = {}
    for name, literal in template.items():
        value = local.get(name, literal)
        if value is None:
            raise AssemblyError(f"the template computes {name}; local mode has no value for it")
        values[name] = value
    return values


def _function_environment(
    template: dict[str, str | None], local: dict[str, str], runtime: dict[str, str]
) -> dict[str, str]:
    """The template's variable names, each with its local value or the template's literal,
    plus what the Lambda runtime would provide."""
    return {**_local_values(template, local), **runtime}


def bootstrap_event(
    request_type: str, properties: dict[str, str], resource_type: str
) -> dict[str, Any]:
    """The request CDK's provider framework passes the bootstrap (its ResponseURL masked, as
    the framework masks it)."""
    service_token = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STAGE}-Data-Provider"
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": "...",
        "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STAGE}-Data/local",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "DatabaseRolesBootstrap",
        "ResourceType": resource_type,
        "ResourceProperties": {"ServiceToken": service_token, **properties},
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = "local-database-roles"
    if request_type == "Update":
        event["OldResourceProperties"] = event["ResourceProperties"]
    return event


def _runtime(moto: MotoStage, keys: Keys, no_file: str) -> dict[str, str]:
    """What the Lambda runtime would add to a function's environment, pointed at moto."""
    return {
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": moto.url,
        "AWS_ACCESS_KEY_ID": keys.access_key_id,
        "AWS_SECRET_ACCESS_KEY": keys.secret_access_key,
        # Not Lambda's, but keeps a developer's ~/.aws files out of the function.
        "AWS_CONFIG_FILE": no_file,
        "AWS_SHARED_CREDENTIALS_FILE": no_file,
    }


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


def allow_release_drill(moto: MotoStage, role_arn: str) -> None:
    """The post-deploy role's release-drill actions (stages/components/
    release_drill_access.py) on what moto serves, with IAM enforced. moto checks the actions;
    resources it checks for S3 only (every other service's request is authorized against
    "*"), so only the bucket statements carry the drill's name pattern here. AWS Backup's
    calls go to the stand-in, which checks signatures, not policies."""
    prefix = f"dr-drill-{STAGE.lower()}-"
    statements = [
        {
            "Effect": "Allow",
            "Action": [
                "cloudformation:DescribeStacks",
                "dynamodb:DescribeTable",
                "dynamodb:GetItem",
                "dynamodb:DeleteTable",
                "kms:Decrypt",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            # moto authorizes DeleteObjects on the bucket, where AWS does each object's
            # s3:DeleteObject (and s3:DeleteObjectVersion): allowed on both here.
            "Action": [
                "s3:ListBucketVersions",
                "s3:DeleteBucket",
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
            ],
            "Resource": f"arn:aws:s3:::{prefix}*",
        },
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Resource": f"arn:aws:s3:::{prefix}*/*",
        },
    ]
    moto.client("iam").put_role_policy(
        RoleName=role_arn.rsplit("/", 1)[1],
        PolicyName="release-drill",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )


@contextmanager
def local_stage(cdk_out: Path = DEFAULT_CDK_OUT) -> Iterator[LocalStage]:
    templates = read_stage(cdk_out)
    spec, bootstrap_spec = templates.function, templates.bootstrap
    user, database = spec.environment.get("DB_USER"), spec.environment.get("DB_NAME")
    if not user or not database:
        raise AssemblyError("the function's DB_USER and DB_NAME must be literals")
    _remove_abandoned_workdirs()
    started = time.time()
    with ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix=_WORKDIR_PREFIX))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        (workdir / "owner.pid").write_text(str(os.getpid()))
        moto = stack.enter_context(start_moto(workdir / "moto.log"))  # starts meanwhile
        tls = make_tls_files(workdir)
        postgres = stack.enter_context(postgres_server(tls, database, workdir))
        postgres.psql("CREATE ROLE rds_iam NOLOGIN")  # RDS's, for IAM authentication
        moto.wait_ready()
        moto_stage = create_stage(
            moto.url,
            REGION,
            templates.key_schema,
            templates.attribute_definitions,
            BUCKET_NAME,
            master_user=MASTER_USER,
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
        # The data key encrypts the table and the cluster: their recovery points keep it.
        for resource_arn in (moto_stage.table_arn, CLUSTER_ARN):
            server.backup.set_source_key(resource_arn, moto_stage.key_arn)
        server.rds.serve_live_cluster(
            LiveCluster(
                identifier=CLUSTER_ID,
                host="127.0.0.1",
                port=postgres.port,
                database=database,
                master_user=MASTER_USER,
                kms_key_id=moto_stage.key_arn,
                subnet_group=DB_SUBNET_GROUP,
                parameter_group=DB_CLUSTER_PARAMETER_GROUP,
                security_groups=(CLUSTER_SECURITY_GROUP,),
                backup_retention_days=BACKUP_RETENTION_DAYS,
                started=started,
            ),
            plane,
        )
        standin = StandinClient(server.url)
        # The "developer's" key signs for both servers, and lists what every test made.
        standin.register_keys(moto_stage.admin, account_view=True)
        # The stage's post-deploy role, trusting the "developer" (the session's own key).
        assumable_role(moto_stage, POST_DEPLOY_ROLE_ARN, ADMIN_USER)
        allow_release_drill(moto_stage, POST_DEPLOY_ROLE_ARN)
        standin.add_vault(
            VAULT_NAME,
            VAULT_MIN_RETENTION_DAYS,
            VAULT_MAX_RETENTION_DAYS,
            encryption_key_arn=moto_stage.backup_key_arn,
        )
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
                    **_runtime(moto_stage, moto_stage.function, no_file),
                    # The local CA in the runtime's trust store, as the proxy's certificate
                    # chains to one of Lambda's public roots.
                    "SSL_CERT_FILE": str(tls.ca_cert),
                },
            ),
            log_file=workdir / "health-check.log",
            timeout_seconds=spec.timeout_seconds,
            memory_mb=spec.memory_mb,
        )
        standin.register_function(function)
        bootstrap = _bootstrap_function(bootstrap_spec.function, moto_stage, tls, workdir)
        standin.register_function(bootstrap)
        reader = _reader_function(moto_stage, tls, workdir, database)
        standin.register_function(reader)
        outputs = stage_outputs(moto_stage)
        create_stacks(moto_stage, STAGE, outputs)
        enforce_iam(moto_stage.url)
        stage = LocalStage(
            workdir,
            tls,
            postgres,
            moto_stage,
            standin,
            server.url,
            function,
            tuple(spec.environment),
            bootstrap,
            _local_values(
                bootstrap_spec.properties,
                {
                    "Host": "127.0.0.1",
                    "Port": str(postgres.port),
                    "SecretArn": moto_stage.master_secret_arn,
                },
            ),
            bootstrap_spec.resource_type,
            plane,
            reader,
            outputs,
            started,
        )
        # What CloudFormation does when it creates the Data stack, before any health check.
        created = stage.run_bootstrap("Create")
        if created.function_error:
            raise RuntimeError(f"the database roles bootstrap failed: {created.message}")
        yield stage


def _bootstrap_function(
    spec: FunctionSpec, moto: MotoStage, tls: TlsFiles, workdir: Path
) -> FunctionConfig:
    """The synthesized bootstrap, trusting the local CA instead of the RDS CAs it ships (and
    nothing in the trust store: it verifies against DB_CA_BUNDLE alone)."""
    no_file = str(workdir / "no-aws-config")
    return FunctionConfig(
        name=BOOTSTRAP_NAME,
        asset_dir=spec.asset_dir,
        handler=spec.handler,
        environment=_function_environment(
            spec.environment,
            local={"DB_CA_BUNDLE": str(tls.ca_cert)},
            runtime=_runtime(moto, moto.bootstrap, no_file),
        ),
        log_file=workdir / "database-roles.log",
        timeout_seconds=spec.timeout_seconds,
        memory_mb=spec.memory_mb,
    )


def stage_outputs(moto: MotoStage) -> dict[str, dict[str, str]]:
    """The outputs of the stage's Data and Service stacks (stages/dr_stage.py's keys), with
    local values."""
    return {
        "Data": {
            "TableName": moto.table_name,
            "TableArn": moto.table_arn,
            "BucketName": moto.bucket_name,
            "ClusterArn": CLUSTER_ARN,
            "BackupVaultName": VAULT_NAME,
            "BackupRoleArn": BACKUP_ROLE_ARN,
            "RestoreRoleArn": RESTORE_ROLE_ARN,
            "BackupTestRoleArn": BACKUP_TEST_ROLE_ARN,
            "TopicArn": moto.topic_arn,
            "DataKeyArn": moto.key_arn,
            "ClusterSecurityGroupId": CLUSTER_SECURITY_GROUP,
            "RestoredClusterSecurityGroupId": RESTORED_CLUSTER_SECURITY_GROUP,
            "DbSubnetGroupName": DB_SUBNET_GROUP,
            "DbClusterParameterGroupName": DB_CLUSTER_PARAMETER_GROUP,
            "DbInstanceClass": DB_INSTANCE_CLASS,
            "BackupRetentionDays": str(BACKUP_RETENTION_DAYS),
            "RestoreTestingPlanArn": PLAN_ARN,
            "RemovalPosture": "destroy",
            # An hourly plan: the gap (1 h), the start (1 h) and completion (2 h) windows.
            "BackupFirstPointSeconds": "14400",
        },
        "Service": {
            "HealthCheckFunctionName": FUNCTION_NAME,
            "PostDeployRoleArn": POST_DEPLOY_ROLE_ARN,
            "BackupTestOnRelease": "true",
            "RestoreReaderFunctionName": READER_NAME,
            # As dr_stage.py writes it: sorted keys, no spaces.
            "RestoreTargets": json.dumps(RESTORE_TARGETS, sort_keys=True, separators=(",", ":")),
        },
    }


def _reader_function(
    moto: MotoStage, tls: TlsFiles, workdir: Path, database: str
) -> FunctionConfig:
    """The restore validator bundle's database reader, assembled here by
    stages/components/bundling.py as synth would (so it is never stale, synthesized or not),
    with its documented environment (lambda/restore_validator/dr_restore/reader.py): the
    database, dr_validator, the local CA instead of the RDS CAs the bundle ships, and keys of
    a moto IAM user allowed `rds-db:connect` to sign its IAM tokens with (locally unchecked:
    the server trusts any password)."""
    asset_dir = workdir / "restore-reader"
    RESTORE_VALIDATOR.assemble(asset_dir)
    connect = {
        "Effect": "Allow",
        "Action": "rds-db:connect",
        "Resource": f"arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:*/{VALIDATOR_DB_USER}",
    }
    keys = iam_user(moto.client("iam"), READER_USER, [connect])
    no_file = str(workdir / "no-aws-config")
    return FunctionConfig(
        name=READER_NAME,
        asset_dir=asset_dir,
        handler=READER_HANDLER,
        environment={
            "DB_NAME": database,
            "DB_USER": VALIDATOR_DB_USER,
            "DB_CA_BUNDLE": str(tls.ca_cert),  # absolute: the bundle's root does not apply
            **_runtime(moto, keys, no_file),
        },
        log_file=workdir / "restore-reader.log",
        timeout_seconds=30,
        memory_mb=256,
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
