"""AWS Backup: vault, plans, selections, roles and the vault lock."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_cdk.assertions import Template

from tests.support.synthesis import Synthesis
from tests.support.templates import get_att, logical_id, only, props, resources

BACKUP_KEY = "EncryptionBackupKey1919D1EB"
CLUSTER = "DatabaseCluster5B53A178"
TABLE = "Table710B521B"
BUCKET = "BucketD7FEB781"


def plans(template: Template) -> dict[str, dict[str, Any]]:
    return {
        props(plan)["BackupPlan"]["BackupPlanName"]: props(plan)["BackupPlan"]
        for plan in resources(template, "AWS::Backup::BackupPlan").values()
    }


def rule(template: Template, kind: str) -> dict[str, Any]:
    [plan] = [p for name, p in plans(template).items() if name.endswith(kind)]
    [only_rule] = plan["BackupPlanRule"]
    return dict(only_rule)


def selection_for(template: Template, kind: str) -> dict[str, Any]:
    plan_id = next(
        k for k in resources(template, "AWS::Backup::BackupPlan") if k.startswith(f"Backup{kind}")
    )
    [selection] = [
        props(s)["BackupSelection"]
        for s in resources(template, "AWS::Backup::BackupSelection").values()
        if props(s)["BackupPlanId"] == get_att(plan_id, "BackupPlanId")
    ]
    return dict(selection)


def test_vault_uses_its_own_key_and_is_retained_except_on_a_failed_create(
    dev_data: Template,
) -> None:
    _, vault = only(dev_data, "AWS::Backup::BackupVault")
    assert props(vault)["EncryptionKeyArn"] == get_att(BACKUP_KEY, "Arn")
    # CloudFormation cannot delete a vault holding recovery points, even in dev; a rolled-back
    # first create leaves an empty one, which need not stay behind.
    assert vault["DeletionPolicy"] == "RetainExceptOnCreate"
    assert vault["UpdateReplacePolicy"] == "Retain"


def test_vault_name_changes_with_each_creation_of_its_stack(dev_data: Template) -> None:
    """A vault retained by a deleted stage must not block creating the stage again."""
    _, vault = only(dev_data, "AWS::Backup::BackupVault")
    prefix, suffix = props(vault)["BackupVaultName"]["Fn::Join"][1]
    assert re.fullmatch(r"DevDataBackup[0-9A-F]{8}Vault", prefix), prefix
    assert suffix == {
        "Fn::Select": [
            0,
            {
                "Fn::Split": [
                    "-",
                    {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]},
                ]
            },
        ]
    }
    # Backup vault names: 2-50 letters, digits, hyphens and underscores; the suffix is 8 hex.
    assert len(prefix) + 1 + 8 <= 50


def test_hourly_rules_with_configured_retention(synthesis: Synthesis, dev_data: Template) -> None:
    for kind in ("ContinuousPlan", "SnapshotPlan"):
        found = rule(dev_data, kind)
        assert found["ScheduleExpression"] == "cron(0 * ? * * *)"
        assert found["Lifecycle"] == {
            "DeleteAfterDays": synthesis.stages["dev"].config.backup.retention_days
        }
        assert found["StartWindowMinutes"] == 60
        # Done before the next hourly job: at most 60 minutes after the start window.
        assert found["CompletionWindowMinutes"] == 120


def test_continuous_backup_for_aurora_and_s3_only(dev_data: Template) -> None:
    assert rule(dev_data, "ContinuousPlan")["EnableContinuousBackup"] is True
    continuous = selection_for(dev_data, "ContinuousPlan")["Resources"]
    assert get_att(BUCKET, "Arn") in continuous
    assert any(CLUSTER in str(arn) and ":cluster:" in str(arn) for arn in continuous)
    assert len(continuous) == 2


def test_dynamodb_gets_snapshots_because_continuous_backup_does_not_cover_it(
    dev_data: Template,
) -> None:
    assert rule(dev_data, "SnapshotPlan").get("EnableContinuousBackup", False) is False
    assert selection_for(dev_data, "SnapshotPlan")["Resources"] == [get_att(TABLE, "Arn")]


def test_plan_names_differ_between_stages(dev_data: Template, prod_data: Template) -> None:
    assert not set(plans(dev_data)) & set(plans(prod_data))


def _managed_policies(template: Template, role_prefix: str) -> list[str]:
    [role] = [
        r for k, r in resources(template, "AWS::IAM::Role").items() if k.startswith(role_prefix)
    ]
    return sorted(str(arn["Fn::Join"][1][-1]) for arn in props(role)["ManagedPolicyArns"])


def test_backup_role_has_the_s3_backup_policy(dev_data: Template) -> None:
    assert _managed_policies(dev_data, "BackupBackupRole") == [
        ":iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
        ":iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    ]
    for kind in ("ContinuousPlan", "SnapshotPlan"):
        role_id = next(
            k for k in resources(dev_data, "AWS::IAM::Role") if k.startswith("BackupBackupRole")
        )
        assert selection_for(dev_data, kind)["IamRoleArn"] == get_att(role_id, "Arn")


def test_restore_role_for_the_runbook(dev_data: Template) -> None:
    assert _managed_policies(dev_data, "BackupRestoreRole") == [
        ":iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
        ":iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
    ]


def test_vault_lock_in_prod_only(
    synthesis: Synthesis, prod_data: Template, dev_data: Template
) -> None:
    lock = synthesis.stages["prod"].config.backup.vault_lock
    assert lock is not None
    vault = props(only(prod_data, "AWS::Backup::BackupVault")[1])
    assert vault["LockConfiguration"] == {
        "MinRetentionDays": lock.min_retention_days,
        "MaxRetentionDays": lock.max_retention_days,
    }  # governance mode: no ChangeableForDays
    assert "AccessPolicy" in vault  # recovery points can only expire, not be deleted
    dev_vault = props(only(dev_data, "AWS::Backup::BackupVault")[1])
    assert "LockConfiguration" not in dev_vault
    assert "AccessPolicy" not in dev_vault


def test_retained_vault_policy_guards_itself_and_the_lock(prod_data: Template) -> None:
    """Recovery points cannot be deleted or their lifecycle cut; the policy that says so, and
    the lock, can be changed only by CloudFormation's execution role (a reviewed release)."""
    vault = props(only(prod_data, "AWS::Backup::BackupVault")[1])
    statements = vault["AccessPolicy"]["Statement"]
    assert all(s["Effect"] == "Deny" and s["Principal"] == {"AWS": "*"} for s in statements)
    [points] = [s for s in statements if "backup:DeleteRecoveryPoint" in s["Action"]]
    assert sorted(points["Action"]) == [
        "backup:DeleteRecoveryPoint",
        "backup:UpdateRecoveryPointLifecycle",
    ]
    assert "Condition" not in points  # nobody, not even a release
    [guard] = [s for s in statements if s.get("Sid") == "OnlyReleasesChangeTheGuard"]
    assert sorted(guard["Action"]) == [
        "backup:DeleteBackupVaultAccessPolicy",
        "backup:DeleteBackupVaultLockConfiguration",
        "backup:PutBackupVaultAccessPolicy",
        "backup:PutBackupVaultLockConfiguration",
    ]
    assert guard["Condition"] == {
        "ArnNotEquals": {
            "aws:PrincipalArn": "arn:aws:iam::666666666666:role/"
            "cdk-hnb659fds-cfn-exec-role-666666666666-us-east-1"
        }
    }


def test_a_store_whose_backups_stop_alarms(synthesis: Synthesis, dev_service: Template) -> None:
    """No completed job of a store within the schedule's longest gap plus the next job's
    windows (1 + 1 + 2 hours for hourly backups): missing data is no job, so it breaches."""
    freshness = synthesis.stages["dev"].service.backup_freshness
    assert set(freshness.alarms) == {"aurora", "dynamodb", "s3"}
    vault_output = "PublishOutputFnGetAttBackupVault"
    for store, resource_type in (("aurora", "Aurora"), ("dynamodb", "DynamoDB"), ("s3", "S3")):
        alarm = props(
            resources(dev_service, "AWS::CloudWatch::Alarm")[logical_id(freshness.alarms[store])]
        )
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
            "AWS/Backup",
            "NumberOfBackupJobsCompleted",
            "Sum",
        )
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dimensions["ResourceType"] == resource_type
        assert vault_output in json.dumps(dimensions["BackupVaultName"])
        assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (
            3600,
            4,
            4,
        )
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
        assert alarm["TreatMissingData"] == "breaching"
        assert "NotificationsTopic" in json.dumps(alarm["AlarmActions"])
