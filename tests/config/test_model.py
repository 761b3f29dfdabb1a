"""The configuration model: the fixed configuration loads; every bad value stops synth with
one line naming the key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError

import app as cdk_app
from config import ConfigError, RemovalPosture, VaultLockMode, load_config
from tests.support.synthesis import (
    ROOT,
    cdk_context,
    fixed_context,
    fixed_dr,
    fixed_dr_with,
    stage_named,
)


def load(**overrides: Any) -> Any:
    return load_config(fixed_context(fixed_dr_with(**overrides)))


def test_fixed_config_loads_its_stages_in_order() -> None:
    config = load()
    dev, prod = config.stages
    assert (dev.name, prod.name) == ("dev", "prod")
    assert (dev.stage_id, prod.stage_id) == ("Dev", "Prod")
    assert dev.removal is RemovalPosture.DESTROY and not dev.retain_data
    assert prod.removal is RemovalPosture.RETAIN and prod.retain_data
    assert prod.availability_zones == ("us-east-1d", "us-east-1b", "us-east-1f")
    assert dev.backup.vault_lock is None
    lock = prod.backup.vault_lock
    assert lock is not None and lock.mode is VaultLockMode.GOVERNANCE
    assert lock.changeable_for_days is None
    assert config.pipeline.branch == "release"
    assert dev.backup.test_on_release and not prod.backup.test_on_release


def test_every_stage_after_the_first_needs_approval_by_default() -> None:
    dr = fixed_dr()
    third = {**stage_named(dr, "dev"), "name": "staging"}
    dr["stages"].insert(1, third)
    config = load_config(fixed_context(dr))
    assert [(s.name, s.needs_approval) for s in config.stages] == [
        ("dev", False),
        ("staging", True),
        ("prod", True),
    ]


def test_a_stage_may_say_whether_it_needs_approval() -> None:
    config = load(stages__dev__approval=True, stages__prod__approval=False)
    assert [s.needs_approval for s in config.stages] == [True, False]


def test_a_single_stage_is_a_release() -> None:
    config = load(stages__prod=None)
    assert [s.name for s in config.stages] == ["dev"]


def test_a_production_name_may_destroy_only_when_it_says_so() -> None:
    config = load(stages__prod__removal="destroy", stages__prod__allowDestroy=True)
    assert not config.stages[1].retain_data


def test_on_demand_backups_satisfy_the_vault_lock() -> None:
    dev, prod = load().stages
    assert prod.backup.vault_lock is not None
    assert prod.backup.on_demand_retention_days == prod.backup.vault_lock.min_retention_days
    assert dev.backup.on_demand_retention_days == 1  # no lock: the shortest AWS allows


def test_cross_account_role_arns_are_derived_from_config() -> None:
    config = load()
    pipeline, prod = config.pipeline, config.stages[1]
    assert pipeline.test_runner_role_arn(prod) == (
        "arn:aws:iam::444444444444:role/dr-fixture-prod-test-runner"
    )
    assert pipeline.post_deploy_role_arn(prod) == (
        "arn:aws:iam::666666666666:role/dr-fixture-prod-post-deploy-test"
    )


def test_restore_targets_default_from_the_backup_schedule() -> None:
    dev, _ = load(
        stages__dev__backup__schedule="cron(0 */4 ? * * *)",
        stages__dev__restoreTesting={"aurora": {"rtoMinutes": 90}},
    ).stages
    assert dev.restore_testing.schedule == "cron(0 6 ? * * *)"  # daily by default
    assert dev.rpo_target("dynamodb").total_seconds() == (4 * 60 + 60) * 60
    assert dev.rto_target("aurora").total_seconds() == 90 * 60
    assert dev.rto_target("s3").total_seconds() == 120 * 60


def test_the_release_drill_follows_the_backup_test_unless_told() -> None:
    dev, prod = load().stages
    assert dev.backup.drills_on_release and not prod.backup.drills_on_release
    dev, _ = load(stages__dev__backup__drillOnRelease=False).stages
    assert dev.backup.test_on_release and not dev.backup.drills_on_release


def test_config_is_frozen() -> None:
    config = load()
    with pytest.raises(ValidationError, match="frozen"):
        config.stages[0].account = "999999999999"


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
    ({"stages": []}, "dr.stages: at least one stage is needed"),
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
        {"stages__prod__backup__vaultLock__minRetentionDays": 21},
        "dr.stages.prod.backup.retentionDays: 14 days is outside the vault lock's "
        "retention range (21 to 35)",
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
    (
        {"stages__dev__availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1z"]},
        "dr.stages.dev.availabilityZones[2]: 'us-east-1z' is not an Availability Zone of "
        "us-east-1 (us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, us-east-1f)",
    ),
    (
        {"stages__dev__backup__schedule": "cron(a b c d e f)"},
        "dr.stages.dev.backup.schedule: 'cron(a b c d e f)' is not a valid AWS cron "
        "expression: minutes field: 'a' is not a value from 0 to 59",
    ),
    (
        {"stages__dev__backup__schedule": "cron(0 * * * * *)"},
        "dr.stages.dev.backup.schedule: 'cron(0 * * * * *)' is not a valid AWS cron "
        "expression: exactly one of day-of-month and day-of-week must be '?'",
    ),
    (
        {"stages__dev__backup__schedule": "cron(0 25 ? * * *)"},
        "dr.stages.dev.backup.schedule: 'cron(0 25 ? * * *)' is not a valid AWS cron "
        "expression: hours field: '25' is not a value from 0 to 23",
    ),
    (
        {"stages__dev__backup__schedule": "cron(0/15 * ? * * *)"},
        "dr.stages.dev.backup.schedule: 'cron(0/15 * ? * * *)' runs more often than once an "
        "hour, which AWS Backup refuses",
    ),
    (
        {"stages__prod__removal": "destroy"},
        "dr.stages.prod.removal: 'destroy' deletes the data of a stage named like production "
        "with its stack; use 'retain', or set allowDestroy: true on this stage",
    ),
    (
        {"stages__dev__database__instanceClass": "r7g.huge"},
        "dr.stages.dev.database.instanceClass: 'r7g.huge' is not an instance class of Aurora "
        "PostgreSQL",
    ),
    (
        {"stages__dev__database__instanceClass": "t2.micro"},
        "dr.stages.dev.database.instanceClass: 't2.micro' is not an instance class of Aurora",
    ),
    (
        {
            "stages__prod__region": "us-west-1",
            "stages__prod__availabilityZones": ["us-west-1a", "us-west-1b", "us-west-1c"],
        },
        "dr.stages.prod.availabilityZones[1]: 'us-west-1b' is not an Availability Zone of "
        "us-west-1 (us-west-1a, us-west-1c)",
    ),
    ({"stages__prod__name": "dev"}, "dr.stages.dev.name: 'dev' is used twice"),
    (
        {"stages__prod__name": "Prod"},
        "dr.stages[1].name: 'Prod' is not 1-32 lowercase letters, digits or hyphens",
    ),
    ({"stages__prod__name": "prod-"}, "dr.stages[1].name: 'prod-' is not 1-32 lowercase"),
    (
        {"stages__prod__name": "production-eu-west", "pipeline__name": "a" * 32},
        "dr.stages.production-eu-west.name: 'production-eu-west' makes the role name",
    ),
    ({"stages__prod__approval": "yes"}, "dr.stages.prod.approval: expected true or false"),
    ({"stages": {"dev": {}}}, "dr.stages: expected a list, got dict"),
    ({"stages__prod__database": None}, "dr.stages.prod.database: missing"),
    (
        {"stages__prod__backup__drillOnRelease": True},
        "dr.stages.prod.backup.drillOnRelease: the release drill restores the recovery point "
        "of the release's backup job: set testOnRelease too",
    ),
    (
        {"stages__dev__restoreTesting": {"schedule": "cron(0 6 ? * SUN *)"}},
        "dr.stages.dev.restoreTesting.schedule: 'cron(0 6 ? * SUN *)' leaves 7 days, 0:00:00 "
        "between restore tests; at most 6 days",
    ),
    (
        {"stages__dev__restoreTesting": {"dynamodb": {"rpoMinutes": 30}}},
        "dr.stages.dev.restoreTesting.dynamodb.rpoMinutes: 30 is shorter than the backup "
        "schedule's longest gap (60 min): no restore could meet it",
    ),
    (
        {"stages__dev__restoreTesting": {"s3": {"rtoMinutes": 1}}},
        "dr.stages.dev.restoreTesting.s3.rtoMinutes: 1 is out of range (5 to 10080)",
    ),
    (
        {"stages__prod__backup__vaultLock__maxRetentionDays": 5},
        "dr.stages.prod.backup.vaultLock.maxRetentionDays: 5 is below minRetentionDays (7)",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_VALUES)
def test_bad_value_is_one_line_naming_the_key(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load(**overrides)
    text = str(raised.value)
    assert text.startswith(message)
    assert "\n" not in text


def test_compliance_lock_with_grace_time_loads() -> None:
    config = load(
        stages__prod__backup__vaultLock__mode="compliance",
        stages__prod__backup__vaultLock__changeableForDays=3,
    )
    lock = config.stages[1].backup.vault_lock
    assert lock is not None and lock.mode is VaultLockMode.COMPLIANCE
    assert lock.changeable_for_days == 3


def test_comment_keys_are_ignored() -> None:
    dr = fixed_dr()
    stage_named(dr, "dev")["//"] = "why dev has one reader"
    assert load_config(fixed_context(dr)).stages[0].name == "dev"


def test_missing_dr_context_is_reported() -> None:
    with pytest.raises(ConfigError, match=r"^dr: missing"):
        load_config({})


def test_dotted_cli_overrides_apply_by_stage_name_and_keep_strings() -> None:
    # `cdk synth -c dr.stages.prod.account=777777777777` passes the value as a string.
    context = {
        **fixed_context(),
        "dr.stages.prod.account": "777777777777",
        "dr.stages.dev.backup.retentionDays": "14",
        "dr.stages.dev.alarmEmails": '["a@example.com", "b@example.com"]',
    }
    dev, prod = load_config(context).stages
    assert prod.account == "777777777777"
    assert dev.backup.retention_days == 14
    assert dev.alarm_emails == ("a@example.com", "b@example.com")


def test_dotted_override_is_validated_like_the_file() -> None:
    with pytest.raises(ConfigError, match=r"^dr\.stages\.prod\.account: '4444' is not"):
        load_config({**fixed_context(), "dr.stages.prod.account": "4444"})


def test_dotted_override_of_an_unknown_stage_names_the_stages() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config({**fixed_context(), "dr.stages.qa.account": "777777777777"})
    assert str(raised.value) == "dr.stages.qa.account: no stage named 'qa' (stages: dev, prod)"


def test_app_exits_with_one_line_and_writes_nothing(tmp_path: Any) -> None:
    """What the CLI runs: a bad value stops the app before any construct or file exists."""
    context = {**fixed_context(), "dr.stages.dev.region": "us-moon-1"}
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",  # as the Makefile sets it
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
    assert lines == [
        "Invalid configuration: dr.stages.dev.region: 'us-moon-1' is not a known AWS region"
    ]
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())


def test_config_from_exits_cleanly() -> None:
    with pytest.raises(SystemExit) as raised:
        cdk_app.config_from(fixed_context(fixed_dr_with(stages__dev__account="abc")))
    assert str(raised.value.code).startswith("Invalid configuration: dr.stages.dev.account:")


@pytest.mark.live
def test_the_live_config_loads() -> None:
    """The repository's own cdk.json (whatever an adopter put there) is a valid config."""
    assert load_config(cdk_context()).stages
