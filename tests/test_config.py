"""The configuration model: example values load; every bad value stops synth with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

import app as cdk_app
from stages.config import ConfigError, RemovalPosture, VaultLockMode, load_config
from tests.conftest import ROOT, cdk_context, dr_context


def test_example_config_loads_both_stages() -> None:
    config = load_config(cdk_context())
    assert (config.dev.name, config.prod.name) == ("dev", "prod")
    assert config.dev.removal is RemovalPosture.DESTROY and not config.dev.retain_data
    assert config.prod.removal is RemovalPosture.RETAIN and config.prod.retain_data
    assert config.dev.availability_zones == ("us-east-1a", "us-east-1b", "us-east-1c")
    assert config.dev.backup.vault_lock is None
    lock = config.prod.backup.vault_lock
    assert lock is not None and lock.mode is VaultLockMode.GOVERNANCE
    assert lock.changeable_for_days is None
    assert config.pipeline.branch == "release"
    assert config.dev.backup.test_on_release and not config.prod.backup.test_on_release


def test_on_demand_backups_satisfy_the_vault_lock() -> None:
    config = load_config(cdk_context())
    lock = config.prod.backup.vault_lock
    assert lock is not None
    assert config.prod.backup.on_demand_retention_days == lock.min_retention_days
    assert config.dev.backup.on_demand_retention_days == 1  # no lock: the shortest AWS allows


def test_cross_account_role_arns_are_derived_from_config() -> None:
    config = load_config(cdk_context())
    pipeline, prod = config.pipeline, config.prod
    assert pipeline.test_runner_role_arn(prod) == (
        f"arn:aws:iam::{pipeline.account}:role/{pipeline.name}-prod-test-runner"
    )
    assert pipeline.post_deploy_role_arn(prod) == (
        f"arn:aws:iam::{prod.account}:role/{pipeline.name}-prod-post-deploy-test"
    )
    assert max(len(pipeline.post_deploy_role_name(s)) for s in config.stages) <= 64


def test_config_is_frozen() -> None:
    config = load_config(cdk_context())
    with pytest.raises(AttributeError):
        config.dev.account = "999999999999"  # type: ignore[misc]


BAD_VALUES = [
    ({"stages__prod__account": "12345"}, "dr.stages.prod.account: '12345' is not a 12-digit"),
    ({"stages__prod__account": 123456789012}, "dr.stages.prod.account: expected a string"),
    ({"stages__dev__region": "us-moon-1"}, "dr.stages.dev.region: 'us-moon-1' is not a known"),
    (
        {"stages__dev__availabilityZones": ["us-east-1a", "us-east-1b", "eu-west-1c"]},
        "dr.stages.dev.availabilityZones[2]: 'eu-west-1c' is not an Availability Zone of us-east-1",
    ),
    (
        {"stages__dev__availabilityZones": ["us-east-1a", "us-east-1b"]},
        "dr.stages.dev.availabilityZones: expected exactly 3",
    ),
    (
        {"stages__dev__availabilityZones": ["us-east-1a", "us-east-1a", "us-east-1b"]},
        "dr.stages.dev.availabilityZones: Availability Zones must be distinct",
    ),
    (
        {"stages__prod__alarmEmails": ["oncall@example.com", "not-an-email"]},
        "dr.stages.prod.alarmEmails[1]: 'not-an-email' is not an email address",
    ),
    ({"stages__prod__alarmEmails": []}, "dr.stages.prod.alarmEmails: at least one address"),
    (
        {"stages__dev__backup__retentionDays": 0},
        "dr.stages.dev.backup.retentionDays: 0 is out of range (1 to 35)",
    ),
    (
        {"stages__dev__backup__retentionDays": 36},
        "dr.stages.dev.backup.retentionDays: 36 is out of range",
    ),
    (
        {"stages__dev__backup__retentionDays": "7"},
        "dr.stages.dev.backup.retentionDays: expected a whole number",
    ),
    (
        {"stages__dev__backup__schedule": "rate(1 hour)"},
        "dr.stages.dev.backup.schedule: 'rate(1 hour)' is not",
    ),
    ({"stages__prod__account": None}, "dr.stages.prod.account: missing"),
    ({"stages__prod": None}, "dr.stages.prod: missing"),
    ({"pipeline": None}, "dr.pipeline: missing"),
    ({"stages__dev__acount": "222222222222"}, "dr.stages.dev.acount: unknown key"),
    (
        {"stages__dev__removal": "delete"},
        "dr.stages.dev.removal: 'delete' is not one of 'destroy', 'retain'",
    ),
    (
        {"stages__dev__database__readerCount": 0},
        "dr.stages.dev.database.readerCount: 0 is out of range",
    ),
    (
        {"stages__dev__database__instanceClass": "db.r7g.large"},
        "dr.stages.dev.database.instanceClass: 'db.r7g.large' is not",
    ),
    (
        {"stages__prod__backup__vaultLock__minRetentionDays": 14},
        "dr.stages.prod.backup.retentionDays: 7 days is outside the vault lock's "
        "retention range (14 to 35)",
    ),
    (
        {"stages__prod__backup__vaultLock__mode": "compliance"},
        "dr.stages.prod.backup.vaultLock.changeableForDays: missing",
    ),
    (
        {"stages__prod__backup__vaultLock__changeableForDays": 3},
        "dr.stages.prod.backup.vaultLock.changeableForDays: only valid in compliance mode",
    ),
    (
        {
            "pipeline__connectionArn": "arn:aws:codeconnections:eu-west-1:111111111111:"
            "connection/00000000-0000-0000-0000-000000000000"
        },
        "dr.pipeline.connectionArn: the connection must be in the pipeline's account and region",
    ),
    (
        {
            "stages__prod__region": "us-west-2",
            "stages__prod__availabilityZones": ["us-west-2a", "us-west-2b", "us-west-2c"],
        },
        "dr.stages.prod.region: 'us-west-2' is not the pipeline's Region (us-east-1)",
    ),
    (
        {"pipeline__repository": "no-owner"},
        "dr.pipeline.repository: 'no-owner' is not an owner/name",
    ),
    (
        {"pipeline__name": "DR_Release"},
        "dr.pipeline.name: 'DR_Release' is not 2-32 lowercase letters",
    ),
    (
        {"pipeline__notificationEmails": []},
        "dr.pipeline.notificationEmails: at least one address is needed",
    ),
    (
        {"stages__dev__backup__testOnRelease": "yes"},
        "dr.stages.dev.backup.testOnRelease: expected true or false",
    ),
    ({"stages__prod__backup__testOnRelease": None}, "dr.stages.prod.backup.testOnRelease: missing"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_VALUES)
def test_bad_value_is_one_line_naming_the_key(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(dr_context(**overrides))
    text = str(raised.value)
    assert text.startswith(message)
    assert "\n" not in text


def test_compliance_lock_with_grace_time_loads() -> None:
    config = load_config(
        dr_context(
            stages__prod__backup__vaultLock__mode="compliance",
            stages__prod__backup__vaultLock__changeableForDays=3,
        )
    )
    lock = config.prod.backup.vault_lock
    assert lock is not None and lock.mode is VaultLockMode.COMPLIANCE
    assert lock.changeable_for_days == 3


def test_missing_dr_context_is_reported() -> None:
    with pytest.raises(ConfigError, match=r"^dr: missing"):
        load_config({})


def test_dotted_cli_overrides_apply_and_keep_strings() -> None:
    # `cdk synth -c dr.stages.prod.account=444444444444` passes the value as a string.
    context = {
        **cdk_context(),
        "dr.stages.prod.account": "444444444444",
        "dr.stages.dev.backup.retentionDays": "14",
        "dr.stages.dev.alarmEmails": '["a@example.com", "b@example.com"]',
    }
    config = load_config(context)
    assert config.prod.account == "444444444444"
    assert config.dev.backup.retention_days == 14
    assert config.dev.alarm_emails == ("a@example.com", "b@example.com")


def test_dotted_override_is_validated_like_the_file() -> None:
    with pytest.raises(ConfigError, match=r"^dr\.stages\.prod\.account: '4444' is not"):
        load_config({**cdk_context(), "dr.stages.prod.account": "4444"})


def test_app_exits_with_one_line_and_writes_nothing(tmp_path: Any) -> None:
    """What the CLI runs: a bad value stops the app before any construct or file exists."""
    context = {**cdk_context(), "dr.stages.dev.region": "us-moon-1"}
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(tmp_path / "out"),
    }
    result = subprocess.run(
        [sys.executable, "app.py"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1] == (
        "Invalid configuration: dr.stages.dev.region: 'us-moon-1' is not a known AWS region"
    )
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())


def test_config_from_exits_cleanly() -> None:
    with pytest.raises(SystemExit) as raised:
        cdk_app.config_from(dr_context(stages__dev__account="abc"))
    assert str(raised.value.code).startswith("Invalid configuration: dr.stages.dev.account:")
