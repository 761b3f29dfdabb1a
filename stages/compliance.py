"""cdk-nag gates: registration on a Stage, accepted findings, and reading the report.

The CDK CLI tells the app not to fail synth on validation errors (it only writes them to the
assembly's validation report), so `app.py` and the tests fail on any reported violation:
cdk-nag's, and the warnings of CDK's built-in CloudFormation validation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, CfnElement, CfnResource, Stack, Stage, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

if TYPE_CHECKING:
    from stages.dr_stage import DrStage

REPORT_FILE = "validation-report.json"

_LAMBDA_BASIC = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
_LAMBDA_VPC = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
_BACKUP_POLICIES = (
    "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:<AWS::Partition>:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
)
_RESTORE_POLICIES = (
    "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
    "arn:<AWS::Partition>:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
)
# CDK's KMS grants add these action families, always on one exact key ARN.
_KMS_FAMILIES = ("kms:GenerateDataKey*", "kms:ReEncrypt*")


def register_checks(stage: Stage) -> None:
    # Each DR Stage registers, and the App does for the pipeline stack, so neither relies on
    # how far a pack looks. Measured with CDK 2.275 and cdk-nag 3.0.2: CDK hands every pack
    # the whole App, so each finding appears once per pack in the report; `violations()`
    # lists it once.
    Validations.of(stage).add_plugins(AwsSolutionsChecks(stage))


def logical_id(construct: IConstruct) -> str:
    resource = construct.node.default_child
    assert isinstance(resource, CfnElement)
    return Stack.of(construct).get_logical_id(resource)


def acknowledge(construct: IConstruct, reason: str, *rules: str) -> None:
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=f"AwsSolutions-{rule}", reason=reason) for rule in rules)
    )


def acknowledge_findings(stage: DrStage) -> None:
    """Every finding this design accepts, on the narrowest construct, with its reason."""
    data, service = stage.data, stage.service
    backup = data.backup

    for role in (backup.backup_role, backup.release_test_role):
        acknowledge(
            role,
            "AWS Backup's own service-role policies are the documented way to back up Aurora, "
            "DynamoDB and S3 (the S3 one is required for S3 backups); they track new service "
            "needs.",
            *(f"IAM4[Policy::{arn}]" for arn in _BACKUP_POLICIES),
        )
    acknowledge(
        backup.restore_role,
        "AWS Backup's own restore policies are the documented way to restore Aurora, DynamoDB "
        "and S3 recovery points (the S3 one is required for S3 restores).",
        *(f"IAM4[Policy::{arn}]" for arn in _RESTORE_POLICIES),
    )
    for role in (backup.backup_role, backup.release_test_role, backup.restore_role):
        acknowledge(
            role,
            "KMS grant on the stage's data and backup keys only (exact key ARNs); the wildcard "
            "is the action family AWS Backup needs to re-encrypt recovery points.",
            *(f"IAM5[Action::{action}]" for action in _KMS_FAMILIES),
        )

    function = service.health_check.function
    acknowledge(
        function,
        "The health check's execution role needs CloudWatch Logs and VPC network-interface "
        "permissions; these AWS policies are the documented minimum for a Lambda in a VPC.",
        f"IAM4[Policy::{_LAMBDA_BASIC}]",
        f"IAM4[Policy::{_LAMBDA_VPC}]",
    )
    acknowledge(
        function,
        "CDK's S3 and KMS grants use action families; every statement is scoped to the one "
        "canary object or the one data key ARN, so no other resource is reachable.",
        *(f"IAM5[Action::{action}]" for action in _KMS_FAMILIES),
        "IAM5[Action::s3:Abort*]",
        "IAM5[Action::s3:GetBucket*]",
        "IAM5[Action::s3:GetObject*]",
        "IAM5[Action::s3:List*]",
    )

    # CDK's LogRetention provider (one per stack) sets the retention of the log group that
    # RDS creates for the cluster's exported PostgreSQL logs.
    log_retention = next(
        (child for child in data.node.children if child.node.id.startswith("LogRetention")),
        None,
    )
    if log_retention is None:
        raise RuntimeError("expected CDK's LogRetention provider in the Data stack")
    acknowledge(
        log_retention,
        "CDK's LogRetention provider sets retention on the log group RDS creates for exported "
        "PostgreSQL logs; its logs permissions cannot be scoped before RDS names the group.",
        f"IAM4[Policy::{_LAMBDA_BASIC}]",
        "IAM5[Resource::*]",
    )

    post_deploy = service.post_deploy.role
    acknowledge(
        post_deploy,
        "backup:DescribeBackupJob and backup:ListBackupJobs have no resource type in IAM, so "
        "they cannot name a vault or a table; they only read job status. The function's ':*' "
        "is CDK's grant_invoke for that one function's versions and aliases.",
        "IAM5[Resource::*]",
        f"IAM5[Resource::<{logical_id(service.health_check.function)}.Arn>:*]",
    )

    _accept_literal_availability_zones(stage)

    if not stage.config.retain_data:
        acknowledge(
            data.database.cluster,
            "Dev stage (removal posture 'destroy'): it is torn down and rebuilt freely; "
            "every retained stage (prod) has deletion protection on.",
            "RDS10",
        )


def _accept_literal_availability_zones(stage: DrStage) -> None:
    """CDK's built-in validation and cfn-lint (W3010) warn about literal AZs. Ours are
    deliberate: synth does no lookups, and the config checks each AZ is in the Region."""
    network, database = stage.data.network, stage.data.database
    reason = "Explicit AZs from validated config keep synth deterministic (no lookups)."
    for construct in (network.vpc, database.cluster):
        Validations.of(construct).acknowledge(
            Acknowledgment(id="CloudFormation-Validate::W3010", reason=reason)
        )
    instances = [child.node.default_child for child in database.cluster.node.children]
    subnets = [subnet.node.default_child for subnet in network.vpc.isolated_subnets]
    for resource in (*subnets, *instances):
        if isinstance(resource, CfnResource):
            resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3010"]}})


def violations(assembly_dir: str | Path) -> list[str]:
    """One line per violating construct in the assembly's validation report."""
    report_path = Path(assembly_dir) / REPORT_FILE
    if not report_path.exists():
        return []
    report = json.loads(report_path.read_text())
    return sorted(
        {
            f"{violation['ruleName']}: {construct['constructPath']}"
            for plugin in report.get("pluginReports", [])
            for violation in plugin.get("violations", [])
            for construct in violation.get("violatingConstructs", [])
        }
    )
