"""The audit of every accepted compliance finding (cdk-nag AwsSolutions and NIST 800-53 R5,
CDK's CloudFormation validation): which construct accepts which finding, and why. A new
acknowledgment fails this test until it is listed here, so none slips in unreviewed.

Each construct acknowledges what it creates (stages/compliance.py `acknowledge`); a finding's
id may carry a detail (`[Policy::...]`, `[Resource::...]`) naming exactly what is accepted.
"""

from __future__ import annotations

import re

from stages.compliance import acknowledged
from tests.support.synthesis import Synthesis


def iam4(policy: str) -> str:
    return f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{policy}]"


def iam5(detail: str) -> str:
    return f"AwsSolutions-IAM5[{detail}]"


# The reasons, by the words that must begin them: the whole text is in the construct.
BACKUP = "AWS Backup's own service-role policies"
RESTORE = "AWS Backup's own restore policies"
KMS = "KMS grant on the stage's data and backup keys only"
INLINE_REASON = "CDK's grants go into a policy attached to this one role"
FUNCTION = "The health check's execution role needs"
FAMILIES = "CDK's S3 and KMS grants use action families"
BOOTSTRAP = "The bootstrap's execution role needs"
SYNCHRONOUS = "Invoked synchronously by the provider framework"
FRAMEWORK = "CDK's provider framework function relays"
OUTSIDE_VPC = "CDK's provider framework function runs outside the VPC"
VALIDATOR_MANAGED = "The execution role needs CloudWatch Logs"
RESTORED = "The restore tests' resources are new on every test"
CODEBUILD = "CodeBuild writes its logs and test reports"
ASSETS = "CDK Pipelines' asset publishing role"
LAMBDA_BASIC = "service-role/AWSLambdaBasicExecutionRole"
NIST = "NIST.800.53.R5-"
STAGE = {
    # Backup's three roles: AWS Backup's documented managed policies, KMS grants on exact keys.
    "Data/Backup/BackupRole": {
        iam4("AWSBackupServiceRolePolicyForS3Backup"): BACKUP,
        iam4("service-role/AWSBackupServiceRolePolicyForBackup"): BACKUP,
        iam5("Action::kms:GenerateDataKey*"): KMS,
        iam5("Action::kms:ReEncrypt*"): KMS,
        f"{NIST}IAMNoInlinePolicy": INLINE_REASON,
    },
    "Data/Backup/ReleaseTestRole": {
        iam4("AWSBackupServiceRolePolicyForS3Backup"): BACKUP,
        iam4("service-role/AWSBackupServiceRolePolicyForBackup"): BACKUP,
        iam5("Action::kms:GenerateDataKey*"): KMS,
        iam5("Action::kms:ReEncrypt*"): KMS,
        f"{NIST}IAMNoInlinePolicy": INLINE_REASON,
    },
    "Data/Backup/RestoreRole": {
        iam4("AWSBackupServiceRolePolicyForS3Restore"): RESTORE,
        iam4("service-role/AWSBackupServiceRolePolicyForRestores"): RESTORE,
        iam5("Action::kms:GenerateDataKey*"): KMS,
        iam5("Action::kms:ReEncrypt*"): KMS,
        f"{NIST}IAMNoInlinePolicy": INLINE_REASON,
    },
    "Data/Bucket": {
        "NIST.800.53.R5-S3BucketReplicationEnabled": "The DR stage is single-Region by design",
    },
    "Data/Bucket/AccessLogs": {
        f"{NIST}S3DefaultEncryptionKMS": "S3 delivers server access logs only",
    },
    "Data/Database/Cluster": {
        iam4("service-role/AmazonRDSEnhancedMonitoringRole"): "RDS's documented role",
        "CloudFormation-Validate::W3010": "Explicit AZs from validated config",
        "NIST.800.53.R5-RDSInBackupPlan": "Aurora is backed up per cluster",
    },
    "Data/Database/ClusterSecurityGroup": {
        "NIST.800.53.R5-EC2RestrictedCommonPorts": "The cluster's only ingress",
        "NIST.800.53.R5-EC2RestrictedSSH": "The cluster's only ingress",
    },
    "Data/Database/ProxyRole": {
        f"{NIST}IAMNoInlinePolicy": INLINE_REASON,
    },
    "Data/DatabaseRoles/Function": {
        iam4(LAMBDA_BASIC): BOOTSTRAP,
        iam4("service-role/AWSLambdaVPCAccessExecutionRole"): BOOTSTRAP,
        f"{NIST}LambdaDLQ": SYNCHRONOUS,
        f"{NIST}LambdaConcurrency": SYNCHRONOUS,
        f"{NIST}IAMNoInlinePolicy": INLINE_REASON,
    },
    "Data/DatabaseRoles/Provider/framework-onEvent": {
        iam4(LAMBDA_BASIC): FRAMEWORK,
        iam5("Resource::<DatabaseRolesFunction>.Arn:*"): FRAMEWORK,
        f"{NIST}LambdaInsideVPC": OUTSIDE_VPC,
        f"{NIST}LambdaDLQ": OUTSIDE_VPC,
        f"{NIST}LambdaConcurrency": OUTSIDE_VPC,
        f"{NIST}IAMNoInlinePolicy": INLINE_REASON,
    },
    "Data/LogRetention": {  # CDK's provider, for the log group RDS creates
        iam4(LAMBDA_BASIC): "CDK's LogRetention provider",
        "AwsSolutions-IAM5[Resource::*]": "CDK's LogRetention provider",
        "NIST.800.53.R5-IAMNoInlinePolicy": "CDK's LogRetention provider",
    },
    "Data/Network/Vpc": {
        "CloudFormation-Validate::W3010": "Explicit AZs from validated config",
    },
    "Data/Network/Vpc/FlowLog": {
        # CDK's own, on the flow log it creates.
        "CloudFormation-Validate::F3002": "",
        "CloudFormation-Validate::F3003": "",
        f"{NIST}IAMNoInlinePolicy": INLINE_REASON,
    },
    "Service/HealthCheck/Function": {
        iam4(LAMBDA_BASIC): FUNCTION,
        iam4("service-role/AWSLambdaVPCAccessExecutionRole"): FUNCTION,
        iam5("Action::kms:GenerateDataKey*"): FAMILIES,
        iam5("Action::kms:ReEncrypt*"): FAMILIES,
        iam5("Action::s3:Abort*"): FAMILIES,
        iam5("Action::s3:GetBucket*"): FAMILIES,
        iam5("Action::s3:GetObject*"): FAMILIES,
        iam5("Action::s3:List*"): FAMILIES,
        f"{NIST}IAMNoInlinePolicy": INLINE_REASON,
        "NIST.800.53.R5-LambdaConcurrency": "No reserved concurrency",
    },
    "Service/RestoreValidator/Function": {
        iam4(LAMBDA_BASIC): VALIDATOR_MANAGED,
        **{
            iam5(f"Resource::{pattern}"): RESTORED
            for pattern in (
                "*",
                "<RestoreValidatorReader>.Arn:*",
                "arn:aws:s3:::awsbackup-restore-test-*/health-check/canary.json",
                "arn:aws:dynamodb:<region>:<account>:table/awsbackup-restore-test-*",
                "arn:aws:rds:<region>:<account>:cluster:*",
                "arn:aws:rds:<region>:<account>:db:drv-*",
                "arn:aws:rds:<region>:<account>:og:*",
                "arn:aws:rds:<region>:<account>:pg:*",
                "arn:aws:rds:<region>:<account>:subgrp:*",
            )
        },
        f"{NIST}LambdaInsideVPC": "Outside the VPC by design",
        f"{NIST}LambdaDLQ": "Invoked by its SQS event source only",
        f"{NIST}LambdaConcurrency": "Invoked by its SQS event source only",
        f"{NIST}IAMNoInlinePolicy": INLINE_REASON,
    },
    "Service/RestoreValidator/Reader": {
        iam4(LAMBDA_BASIC): VALIDATOR_MANAGED,
        iam4("service-role/AWSLambdaVPCAccessExecutionRole"): VALIDATOR_MANAGED,
        iam5("Resource::arn:aws:rds-db:<region>:<account>:dbuser:*/dr_validator"): (
            "A restored cluster's resource id is new on every test"
        ),
        f"{NIST}LambdaDLQ": "Invoked synchronously by the validator only",
        f"{NIST}LambdaConcurrency": "Invoked synchronously by the validator only",
        f"{NIST}IAMNoInlinePolicy": INLINE_REASON,
    },
    "Service/PostDeployAccess/Role": {
        iam5("Resource::*"): "backup:DescribeBackupJob and backup:ListBackupJobs",
        iam5("Resource::<HealthCheckFunction>.Arn:*"): "backup:DescribeBackupJob",
        f"{NIST}IAMNoInlinePolicy": INLINE_REASON,
    },
}
# Only where the release drills (backup.drillOnRelease): the fixed configuration's dev.
DRILL = "The release drill: ListRecoveryPointsByResource and DescribeRestoreJob have no"
DRILL_STAGE = {
    "Service/PostDeployAccess/Role": {
        iam5(f"Resource::{arn}"): DRILL
        for arn in (
            "arn:aws:backup:<region>:<account>:recovery-point:*",
            "arn:aws:dynamodb:<region>:<account>:table/*/backup/*",
            "arn:aws:cloudformation:<region>:<account>:stack/Dev-Data/*",
            "arn:aws:cloudformation:<region>:<account>:stack/Dev-Service/*",
            "arn:aws:dynamodb:<region>:<account>:table/dr-drill-dev-*",
            "arn:aws:s3:::dr-drill-dev-*",
            "arn:aws:s3:::dr-drill-dev-*/*",
        )
    },
}
# Only where the removal posture is `destroy` (no deletion protection by design).
DESTROY_STAGE = {
    "Data/Database/Cluster": {
        "AwsSolutions-RDS10": "Removal posture 'destroy'",
        f"{NIST}RDSInstanceDeletionProtectionEnabled": "Removal posture 'destroy'",
    },
}
ARTIFACTS = "CDK's grants on the pipeline's artifact bucket and key"
ARTIFACT_FINDINGS = {
    **{
        f"AwsSolutions-IAM5[Action::{action}]": ARTIFACTS
        for action in (
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
            "s3:Abort*",
            "s3:DeleteObject*",
            "s3:GetBucket*",
            "s3:GetObject*",
            "s3:List*",
        )
    },
    "AwsSolutions-IAM5[Resource::<ArtifactsBucket>.Arn/*]": ARTIFACTS,
}
CODEBUILD_GROUPS = {
    iam5("Resource::arn:aws:codebuild:<region>:<account>:report-group/<Project>-*"): CODEBUILD,
    iam5(
        "Resource::arn:aws:logs:<region>:<account>:log-group:/aws/codebuild/<Project>:*"
    ): CODEBUILD,
}
INLINE = {"NIST.800.53.R5-IAMNoInlinePolicy": "CDK's grants go into a policy attached"}
PIPELINE = {
    "Pipeline/Artifacts": {
        "NIST.800.53.R5-S3BucketReplicationEnabled": "Release artifacts are rebuilt",
    },
    "Pipeline/Artifacts/AccessLogs": {
        "NIST.800.53.R5-S3DefaultEncryptionKMS": "S3 delivers server access logs only",
    },
    "Pipeline/<Stage>Tests/RunnerRole": {**ARTIFACT_FINDINGS, **CODEBUILD_GROUPS, **INLINE},
    "Pipeline/Pipeline": {**ARTIFACT_FINDINGS, **INLINE},
    "Pipeline/Pipeline/Assets": {
        iam5("Resource::*"): ASSETS,
        iam5("Resource::arn:aws:codebuild:<region>:<account>:report-group/*"): ASSETS,
        iam5("Resource::arn:aws:logs:<region>:<account>:log-group:/aws/codebuild/*"): ASSETS,
    },
    "Pipeline/Pipeline/Assets/FileRole": CODEBUILD_GROUPS,
    "Pipeline/Pipeline/Pipeline/Build/Synth/CdkBuildProject/Role": CODEBUILD_GROUPS,
    "Pipeline/Pipeline/UpdatePipeline": {
        iam5("Resource::*"): "Self-mutation deploys this stack",
        iam5("Resource::arn:*:iam::<account>:role/*"): "Self-mutation deploys this stack",
    },
    "Pipeline/Pipeline/UpdatePipeline/SelfMutation/Role": CODEBUILD_GROUPS,
}


def _general(text: str, synthesis: Synthesis) -> str:
    """A path or finding id without what the fixed configuration makes of it."""
    text = re.sub(r"<([A-Za-z]+?)[0-9A-F]{8}(\.Arn)?>", lambda m: f"<{m[1]}>{m[2] or ''}", text)
    text = re.sub(r"<Pipeline(Dev|Prod)PostDeployTests>|<Pipeline[A-Za-z]+>", "<Project>", text)
    text = re.sub(r"^Pipeline/(Dev|Prod)Tests/", "Pipeline/<Stage>Tests/", text)
    text = re.sub(r"LogRetention[0-9a-f]{32}", "LogRetention", text)
    config = synthesis.config
    for account in (config.pipeline.account, *(stage.account for stage in config.stages)):
        text = text.replace(account, "<account>")
    for region in (config.pipeline.region, *(stage.region for stage in config.stages)):
        text = text.replace(region, "<region>")
    return text


def test_every_acknowledged_finding_is_listed_with_its_reason(synthesis: Synthesis) -> None:
    found: dict[str, dict[str, dict[str, str]]] = {}  # where -> path -> finding -> reason
    for path, findings in acknowledged(synthesis.outdir).items():
        where, _, rest = path.partition("/")
        key = rest if where in ("Dev", "Prod") else path
        where = where if where in ("Dev", "Prod") else "Pipeline"
        for finding, reason in findings.items():
            general = (_general(key, synthesis), _general(finding, synthesis))
            found.setdefault(where, {}).setdefault(general[0], {})[general[1]] = reason
    expected = {
        "Dev": _merge(_merge(STAGE, DESTROY_STAGE), DRILL_STAGE),
        "Prod": STAGE,
        "Pipeline": PIPELINE,
    }
    for where, paths in expected.items():
        assert sorted(found[where]) == sorted(paths), where
        for path, findings in paths.items():
            assert sorted(found[where][path]) == sorted(findings), (where, path)
            for finding, reason in findings.items():
                actual = found[where][path][finding]
                assert actual.startswith(reason), (where, path, finding, actual)
                assert len(actual) >= 40, (where, path, finding)  # a reason, not a label


def _merge(
    base: dict[str, dict[str, str]], extra: dict[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    merged = {path: dict(findings) for path, findings in base.items()}
    for path, findings in extra.items():
        merged.setdefault(path, {}).update(findings)
    return merged
