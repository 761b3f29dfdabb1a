"""Which DR stage the suite checks, read from the environment or from CloudFormation, and the
boto3 session it checks it with (the post-deploy role's, when one is given)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ClientError
from botocore.session import get_session

from integration_tests import bounded

# Every client: standard retries (throttling and transient errors, with backoff) and bounded
# waits. The Lambda read timeout covers a 30 s function plus a cold start in a VPC.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=30
)
# The read timeout covers the function's 30 s plus a cold start in the VPC, so an attempt
# that hangs is retried once inside the 90 s that health.py awaits a whole Invoke.
LAMBDA_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=10, read_timeout=45
)
# The backup job's calls: fewer attempts and shorter waits, so that botocore's retries fit in
# the minute backup_job.py awaits one call (which bounds a whole answer, dripped or not).
BACKUP_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=5, read_timeout=10
)
# Role chaining (CodeBuild's role -> the stage's role) caps a session at one hour: the suite
# assumes the role again before its credentials expire (build_session).
SESSION_SECONDS = 3600
DEFAULT_POLL_INITIAL_SECONDS = 5.0
DEFAULT_POLL_MAX_SECONDS = 30.0
# The smoke test's poll: right after a stage's first deploy, the RDS Proxy's targets may still
# be registering (the RDS docs give no duration for that), so it asks again every 10 s for up
# to 5 minutes. Optional, any target: SMOKE_TIMEOUT_SECONDS, SMOKE_POLL_SECONDS.
DEFAULT_SMOKE_TIMEOUT_SECONDS = 300.0
DEFAULT_SMOKE_POLL_SECONDS = 10.0
# The release drill's bound on each of its waits (a restore job, deleting what it made).
DEFAULT_DRILL_TIMEOUT_SECONDS = 2700.0

REQUIRED = (
    "DR_STAGE",
    "HEALTH_CHECK_FUNCTION_NAME",
    "TABLE_ARN",
    "BACKUP_VAULT_NAME",
    "BACKUP_ROLE_ARN",
    "BACKUP_TEST",
    "BACKUP_RETENTION_DAYS",
    "BACKUP_TIMEOUT_SECONDS",
)


class TargetError(Exception):
    """The target cannot be resolved; the message says what to set."""


@dataclass(frozen=True)
class BackupSettings:
    enabled: bool
    selected_by: str  # what decided `enabled`, for the skip reason
    retention_days: int
    timeout_seconds: float
    poll_initial_seconds: float = DEFAULT_POLL_INITIAL_SECONDS
    poll_max_seconds: float = DEFAULT_POLL_MAX_SECONDS


@dataclass(frozen=True)
class SmokeSettings:
    timeout_seconds: float = DEFAULT_SMOKE_TIMEOUT_SECONDS
    poll_seconds: float = DEFAULT_SMOKE_POLL_SECONDS


@dataclass(frozen=True)
class DrillSettings:
    enabled: bool
    selected_by: str  # what decided `enabled`, for the skip reason
    timeout_seconds: float = DEFAULT_DRILL_TIMEOUT_SECONDS  # each wait's bound


@dataclass(frozen=True)
class Target:
    stage: str
    region: str
    function_name: str
    table_arn: str
    vault_name: str
    backup_role_arn: str  # the role the release's backup job runs as (not the plans' role)
    backup: BackupSettings
    smoke: SmokeSettings
    drill: DrillSettings
    assume_role_arn: str | None  # when set, every call is made with this role's credentials
    source: str  # where the values came from, for the report header


def backup_flag(value: str, name: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise TargetError(f"{name} must be true or false, not {value!r}")
    return value.lower() == "true"


def finite_positive(value: float, name: str, raw: object = None) -> float:
    """`value`, or TargetError naming `name` (see bounded.finite_positive)."""
    try:
        return bounded.finite_positive(value, name, raw)
    except ValueError as error:
        raise TargetError(str(error)) from None


def _number(env: Mapping[str, str], name: str, default: float | None = None) -> float:
    raw = env.get(name)
    if not raw:
        if default is None:
            raise TargetError(f"{name} is not set")
        return default
    try:
        value = float(raw)
    except ValueError:
        raise TargetError(f"{name} must be a number, not {raw!r}") from None
    return finite_positive(value, name, raw)


def poll_settings(env: Mapping[str, str]) -> tuple[float, float]:
    """BACKUP_POLL_INITIAL_SECONDS and BACKUP_POLL_MAX_SECONDS are optional, for any target:
    the backup poll's first interval and its cap (tests shrink them)."""
    return (
        _number(env, "BACKUP_POLL_INITIAL_SECONDS", DEFAULT_POLL_INITIAL_SECONDS),
        _number(env, "BACKUP_POLL_MAX_SECONDS", DEFAULT_POLL_MAX_SECONDS),
    )


def smoke_settings(env: Mapping[str, str]) -> SmokeSettings:
    """SMOKE_TIMEOUT_SECONDS and SMOKE_POLL_SECONDS are optional, for any target."""
    return SmokeSettings(
        timeout_seconds=_number(env, "SMOKE_TIMEOUT_SECONDS", DEFAULT_SMOKE_TIMEOUT_SECONDS),
        poll_seconds=_number(env, "SMOKE_POLL_SECONDS", DEFAULT_SMOKE_POLL_SECONDS),
    )


def drill_settings(env: Mapping[str, str], enabled: bool, selected_by: str) -> DrillSettings:
    """DRILL_TIMEOUT_SECONDS is optional, for any target."""
    return DrillSettings(
        enabled=enabled,
        selected_by=selected_by,
        timeout_seconds=_number(env, "DRILL_TIMEOUT_SECONDS", DEFAULT_DRILL_TIMEOUT_SECONDS),
    )


def _check_drill(drill: DrillSettings, backup: BackupSettings) -> None:
    if drill.enabled and not backup.enabled:
        raise TargetError(
            f"the release drill ({drill.selected_by}) restores the table from this run's "
            f"backup job, which is off ({backup.selected_by})"
        )


def _backup_settings(
    env: Mapping[str, str],
    enabled: bool,
    selected_by: str,
    retention_days: int,
    timeout_seconds: float,
) -> BackupSettings:
    initial, cap = poll_settings(env)
    return BackupSettings(
        enabled=enabled,
        selected_by=selected_by,
        retention_days=retention_days,
        timeout_seconds=timeout_seconds,
        poll_initial_seconds=initial,
        poll_max_seconds=cap,
    )


def target_from_env(env: Mapping[str, str]) -> Target:
    """The post-deploy contract: the stage's outputs and settings, as the pipeline sets them."""
    missing = [name for name in REQUIRED if not env.get(name)]
    if missing:
        raise TargetError(f"DR_TARGET=env needs these environment variables: {', '.join(missing)}")
    # The stage's Region: in CodeBuild, AWS_REGION is the pipeline's, which may differ.
    region = env.get("DR_REGION") or env.get("AWS_REGION")
    if not region:
        raise TargetError("DR_TARGET=env needs DR_REGION (the stage's Region) or AWS_REGION")
    retention = _number(env, "BACKUP_RETENTION_DAYS")
    if retention != int(retention):
        raise TargetError("BACKUP_RETENTION_DAYS must be a whole number of days")
    target = Target(
        stage=env["DR_STAGE"],
        region=region,
        function_name=env["HEALTH_CHECK_FUNCTION_NAME"],
        table_arn=env["TABLE_ARN"],
        vault_name=env["BACKUP_VAULT_NAME"],
        backup_role_arn=env["BACKUP_ROLE_ARN"],
        backup=_backup_settings(
            env,
            enabled=backup_flag(env["BACKUP_TEST"], "BACKUP_TEST"),
            selected_by=f"BACKUP_TEST={env['BACKUP_TEST']}",
            retention_days=int(retention),
            timeout_seconds=_number(env, "BACKUP_TIMEOUT_SECONDS"),
        ),
        smoke=smoke_settings(env),
        # Optional: a post-deploy step of an earlier release sets no DRILL_ON_RELEASE.
        drill=drill_settings(
            env,
            enabled=backup_flag(env.get("DRILL_ON_RELEASE") or "false", "DRILL_ON_RELEASE"),
            selected_by=f"DRILL_ON_RELEASE={env.get('DRILL_ON_RELEASE') or 'unset'}",
        ),
        assume_role_arn=env.get("POST_DEPLOY_ROLE_ARN") or None,
        source="environment (DR_TARGET=env)",
    )
    _check_drill(target.drill, target.backup)
    return target


def stack_outputs(session: Any, stack_name: str) -> dict[str, str]:
    cloudformation = session.client("cloudformation", config=CLIENT_CONFIG)
    [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


# The stage's own word on whether its release proof runs a backup job (config
# `backup.testOnRelease`), and the role that job runs as: outputs of the stage's stacks.
TEST_ON_RELEASE_OUTPUT = "BackupTestOnRelease"
TEST_ROLE_OUTPUT = "BackupTestRoleArn"


def target_from_stacks(
    stage: str,
    *,
    backup_test: bool | None,
    retention_days: int | None,
    timeout_seconds: float,
    assume_role: bool,
    env: Mapping[str, str],
    drill: bool = False,
    session: Any = None,
) -> Target:
    """A deployed stage by name: the outputs of its `<stage>-Data` and `<stage>-Service`
    stacks, read with the caller's own credentials (profile, SSO, environment).
    `backup_test` None: run the backup job if the stage's BackupTestOnRelease output says so."""
    # AWS_REGION too: botocore itself reads only AWS_DEFAULT_REGION and profiles.
    session = session or boto3.Session(region_name=env.get("AWS_REGION") or None)
    if not session.region_name:
        raise TargetError("no AWS Region: set AWS_REGION or a profile's region")
    try:
        outputs = {
            **stack_outputs(session, f"{stage}-Data"),
            **stack_outputs(session, f"{stage}-Service"),
        }
    except ClientError as error:
        raise TargetError(f"cannot read the stacks of stage {stage}: {error}") from error
    required = ("HealthCheckFunctionName", "TableArn", "BackupVaultName", TEST_ROLE_OUTPUT)
    if missing := [key for key in required if key not in outputs]:
        raise TargetError(f"stacks {stage}-Data/{stage}-Service lack outputs: {missing}")
    role = outputs.get("PostDeployRoleArn")
    if assume_role and not role:
        raise TargetError(f"--assume-role: stack {stage}-Service has no PostDeployRoleArn output")
    if backup_test is None:
        said = outputs.get(TEST_ON_RELEASE_OUTPUT)
        if said is None:
            raise TargetError(
                f"stack {stage}-Service has no {TEST_ON_RELEASE_OUTPUT} output: "
                "pass --backup-test true or false"
            )
        backup_enabled = backup_flag(said, f"output {TEST_ON_RELEASE_OUTPUT} of {stage}-Service")
        selected_by = f"{stage}-Service output {TEST_ON_RELEASE_OUTPUT}={said}"
    else:
        backup_enabled = backup_test
        selected_by = f"--backup-test {str(backup_test).lower()}"
    if retention_days is None and backup_enabled:
        # The shortest lifecycle the vault lock accepts (1 day, AWS's minimum, without a lock).
        backup = session.client("backup", config=CLIENT_CONFIG)
        vault = backup.describe_backup_vault(BackupVaultName=outputs["BackupVaultName"])
        retention_days = int(vault.get("MinRetentionDays", 1))
    target = Target(
        stage=stage,
        region=str(session.region_name),
        function_name=outputs["HealthCheckFunctionName"],
        table_arn=outputs["TableArn"],
        vault_name=outputs["BackupVaultName"],
        backup_role_arn=outputs[TEST_ROLE_OUTPUT],
        backup=_backup_settings(
            env,
            enabled=backup_enabled,
            selected_by=selected_by,
            retention_days=retention_days or 1,
            timeout_seconds=finite_positive(timeout_seconds, "--backup-timeout-seconds"),
        ),
        smoke=smoke_settings(env),
        drill=drill_settings(env, enabled=drill, selected_by=f"--drill {str(drill).lower()}"),
        assume_role_arn=role if assume_role else None,
        source=f"stacks {stage}-Data and {stage}-Service",
    )
    _check_drill(target.drill, target.backup)
    return target


def role_session_name(stage: str) -> str:
    """`dr-post-deploy-<stage>`, in the characters and length STS accepts."""
    return re.sub(r"[^\w+=,.@-]", "-", f"dr-post-deploy-{stage}")[:64]


def build_session(target: Target) -> Any:
    """A boto3 session for the target: the caller's own credentials, or, when the target
    names a role, that role's temporary credentials (and nothing else) for every call,
    assumed again before they expire: role chaining caps one session at an hour, and the
    backup job and the drill together may wait for longer."""
    base = boto3.Session(region_name=target.region)
    if target.assume_role_arn is None:
        return base
    sts = base.client("sts", config=CLIENT_CONFIG)
    role_arn, session_name = target.assume_role_arn, role_session_name(target.stage)

    def assume() -> dict[str, str]:
        credentials = sts.assume_role(
            RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=SESSION_SECONDS
        )["Credentials"]
        expiry = credentials["Expiration"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            # A datetime from botocore; the text of it from a stubbed answer.
            "expiry_time": str(getattr(expiry, "isoformat", lambda: expiry)()),
        }

    credentials = RefreshableCredentials.create_from_metadata(
        metadata=assume(), refresh_using=assume, method="sts-assume-role"
    )
    session = get_session()
    # botocore has no public way to hand a session refreshable credentials; its session
    # keeps the resolved ones in `_credentials`, which get_credentials() returns.
    session._credentials = credentials
    return boto3.Session(botocore_session=session, region_name=target.region)
