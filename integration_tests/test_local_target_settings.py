"""Local only: how the suite reads its target's settings, in-process: bounds that are not
finite numbers above 0 are refused in one line, and a stage named on the command line
decides the backup job by its own BackupTestOnRelease output unless --backup-test says."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from integration_tests.local.harness import (
    BACKUP_ROLE_ARN,
    BACKUP_TEST_ROLE_ARN,
    FUNCTION_NAME,
    POST_DEPLOY_ROLE_ARN,
    REGION,
    STAGE,
    VAULT_MIN_RETENTION_DAYS,
    VAULT_NAME,
    LocalStage,
)
from integration_tests.local.moto import create_stacks
from integration_tests.target import (
    Target,
    TargetError,
    build_session,
    target_from_env,
    target_from_stacks,
)

CONTRACT = {
    "DR_STAGE": "Dev",
    "DR_REGION": "us-east-1",
    "HEALTH_CHECK_FUNCTION_NAME": "fn",
    "TABLE_ARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t",
    "BACKUP_VAULT_NAME": "vault",
    "BACKUP_ROLE_ARN": "arn:aws:iam::123456789012:role/test",
    "BACKUP_TEST": "true",
    "BACKUP_RETENTION_DAYS": "7",
    "BACKUP_TIMEOUT_SECONDS": "2700",
}
BOUNDS = [
    "BACKUP_TIMEOUT_SECONDS",
    "BACKUP_POLL_INITIAL_SECONDS",
    "BACKUP_POLL_MAX_SECONDS",
    "SMOKE_TIMEOUT_SECONDS",
    "SMOKE_POLL_SECONDS",
    "BACKUP_RETENTION_DAYS",
]


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "infinity", "0", "-3", "-0.5"])
@pytest.mark.parametrize("name", BOUNDS)
def test_a_bound_that_is_not_a_finite_number_above_zero_is_refused(name: str, value: str) -> None:
    with pytest.raises(TargetError) as raised:
        target_from_env({**CONTRACT, name: value})
    assert str(raised.value) == f"{name} must be a finite number above 0, not {value!r}"


def test_the_contract_with_its_defaults() -> None:
    target = target_from_env(CONTRACT)
    assert target.backup.timeout_seconds == 2700
    assert (target.backup.poll_initial_seconds, target.backup.poll_max_seconds) == (5, 30)
    assert (target.smoke.timeout_seconds, target.smoke.poll_seconds) == (300, 10)
    assert target.backup.selected_by == "BACKUP_TEST=true"


def _stacks(stage: LocalStage, name: str, test_on_release: str | None) -> None:
    service = {"HealthCheckFunctionName": FUNCTION_NAME, "PostDeployRoleArn": POST_DEPLOY_ROLE_ARN}
    if test_on_release is not None:
        service["BackupTestOnRelease"] = test_on_release
    data = {
        "TableArn": stage.moto.table_arn,
        "BackupVaultName": VAULT_NAME,
        "BackupRoleArn": BACKUP_ROLE_ARN,
        "BackupTestRoleArn": BACKUP_TEST_ROLE_ARN,
    }
    create_stacks(stage.moto, name, {"Data": data, "Service": service})


@pytest.fixture(scope="module")
def stages(local_stage: LocalStage) -> Iterator[None]:
    """Two more deployed stages: one whose config says testOnRelease false, and one deployed
    before the BackupTestOnRelease output existed."""
    _stacks(local_stage, "Hushed", "false")
    _stacks(local_stage, "Legacy", None)
    yield


def by_name(stage: str, backup_test: bool | None, timeout_seconds: float = 2700) -> Target:
    # The developer's credentials and endpoints: the local stage's environment (conftest).
    return target_from_stacks(
        stage,
        backup_test=backup_test,
        retention_days=None,
        timeout_seconds=timeout_seconds,
        assume_role=False,
        env=os.environ,
        session=boto3.Session(region_name=REGION),
    )


@pytest.mark.usefixtures("stages")
def test_a_stage_name_takes_the_backup_job_from_the_stages_own_output() -> None:
    runs = by_name(STAGE, None)
    assert runs.backup.enabled is True
    assert runs.backup.selected_by == f"{STAGE}-Service output BackupTestOnRelease=true"
    assert runs.backup.retention_days == VAULT_MIN_RETENTION_DAYS  # read from the vault lock
    assert runs.backup_role_arn == BACKUP_TEST_ROLE_ARN  # the release's role, not the plans'
    hushed = by_name("Hushed", None)
    assert hushed.backup.enabled is False
    assert hushed.backup.selected_by == "Hushed-Service output BackupTestOnRelease=false"


@pytest.mark.usefixtures("stages")
def test_backup_test_overrides_the_stages_output() -> None:
    assert by_name("Hushed", True).backup.enabled is True
    assert by_name("Hushed", True).backup.selected_by == "--backup-test true"
    assert by_name(STAGE, False).backup.enabled is False


@pytest.mark.usefixtures("stages")
def test_a_stage_without_the_output_needs_backup_test() -> None:
    with pytest.raises(TargetError) as raised:
        by_name("Legacy", None)
    assert str(raised.value) == (
        "stack Legacy-Service has no BackupTestOnRelease output: pass --backup-test true or false"
    )
    assert by_name("Legacy", False).backup.enabled is False


@pytest.mark.usefixtures("stages")
@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), 0.0, -1.0])
def test_a_stage_name_refuses_a_bound_that_is_not_finite_and_positive(seconds: float) -> None:
    with pytest.raises(TargetError, match=r"^--backup-timeout-seconds must be a finite number"):
        by_name(STAGE, None, timeout_seconds=seconds)


def _in(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


POST_DEPLOY_ROLE = "arn:aws:iam::123456789012:role/dr-release-dev-post-deploy-test"
ASKED = {
    "RoleArn": POST_DEPLOY_ROLE,
    "RoleSessionName": "dr-post-deploy-Dev",
    "DurationSeconds": 3600,
}


def _stubbed_sts(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    """build_session's STS client, answering from the returned stubber."""
    sts = boto3.client(
        "sts", region_name=REGION, aws_access_key_id="runner", aws_secret_access_key="runner"
    )
    real_session = boto3.Session

    def session(**options: Any) -> Any:
        base = real_session(**options)
        monkeypatch.setattr(base, "client", lambda service, **_: sts)
        return base

    monkeypatch.setattr("integration_tests.target.boto3.Session", session)
    return Stubber(sts)


def _issued(key: str, expires_in: timedelta) -> dict[str, Any]:
    return {
        "Credentials": {
            "AccessKeyId": key,
            "SecretAccessKey": f"{key}-secret",
            "SessionToken": f"{key}-token",
            "Expiration": _in(expires_in),
        }
    }


def test_the_post_deploy_role_is_assumed_again_before_its_credentials_expire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Role chaining caps a session at an hour; the drill may run longer. Credentials within
    botocore's refresh window (10 minutes before expiry) are replaced by a new AssumeRole."""
    stubber = _stubbed_sts(monkeypatch)
    stubber.add_response(
        "assume_role", _issued("ASIAEXPIRINGSOON0001", timedelta(minutes=5)), ASKED
    )
    stubber.add_response("assume_role", _issued("ASIARENEWED000002", timedelta(hours=1)), ASKED)
    with stubber:
        found = build_session(
            target_from_env({**CONTRACT, "POST_DEPLOY_ROLE_ARN": POST_DEPLOY_ROLE})
        )
        assert found.get_credentials().get_frozen_credentials().access_key == "ASIARENEWED000002"
    stubber.assert_no_pending_responses()


def test_the_post_deploy_role_is_assumed_for_an_hour_and_its_credentials_sign_every_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What moto's STS does not record: the session's duration (the most role chaining
    allows) and name, asked of AssumeRole; the issued credentials are the session's."""
    stubber = _stubbed_sts(monkeypatch)
    stubber.add_response("assume_role", _issued("ASIAISSUEDISSUED0001", timedelta(hours=1)), ASKED)
    with stubber:
        found = build_session(
            target_from_env({**CONTRACT, "POST_DEPLOY_ROLE_ARN": POST_DEPLOY_ROLE})
        )
    stubber.assert_no_pending_responses()
    credentials = found.get_credentials()
    assert (credentials.access_key, credentials.secret_key, credentials.token) == (
        "ASIAISSUEDISSUED0001",
        "ASIAISSUEDISSUED0001-secret",
        "ASIAISSUEDISSUED0001-token",
    )
