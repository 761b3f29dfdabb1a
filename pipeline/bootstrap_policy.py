"""The CloudFormation execution policy of each stage account (`cdk bootstrap
--cloudformation-execution-policies`), generated from the configuration: what CloudFormation
may do there on the pipeline's behalf. `make bootstrap-policy` writes one file per account.

It allows the services the stage's resources use, and IAM only on the roles of this
configuration's stages in that account: those CloudFormation names after their stacks
(`Dev-...`) and the fixed post-deploy role. It says which roles CloudFormation may manage, not
what those roles may do (README: "Bootstrap the accounts").
"""

from __future__ import annotations

from typing import Any

from config import AppConfig, StageConfig, partition

# Every service a stage's templates use (a test checks the synthesized templates against it);
# CDK's custom resources are Lambda-backed.
STAGE_SERVICES = (
    "backup",
    "backup-storage",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "events",
    "kms",
    "lambda",
    "logs",
    "rds",
    "s3",
    "secretsmanager",
    "sns",
    "sqs",
)
# Single actions of other services: SSM parameters CDK reads, and the private DNS of the
# Secrets Manager interface endpoint (a dependent action of ec2:CreateVpcEndpoint).
STAGE_ACTIONS = ("ssm:GetParameters", "route53:AssociateVPCWithHostedZone")
# The stage's stacks are `<Stage id>-Data` and `<Stage id>-Service` (stages/dr_stage.py).
STACK_SUFFIXES = ("Data", "Service")


def stage_accounts(config: AppConfig) -> list[str]:
    return sorted({stage.account for stage in config.stages})


def execution_policy(config: AppConfig, account: str) -> dict[str, Any]:
    stages = [stage for stage in config.stages if stage.account == account]
    if not stages:
        raise ValueError(f"no stage deploys to account {account}")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "StageServices",
                "Effect": "Allow",
                "Action": [f"{service}:*" for service in STAGE_SERVICES] + list(STAGE_ACTIONS),
                "Resource": "*",
            },
            {
                # Service reads Data's outputs with Fn::GetStackOutput, through this role.
                "Sid": "ReadTheStagesOutputs",
                "Effect": "Allow",
                "Action": "cloudformation:DescribeStacks",
                "Resource": [
                    f"{_arn(stage, 'cloudformation', stage.region)}:stack/{stage.stage_id}-*/*"
                    for stage in stages
                ],
            },
            {
                "Sid": "OnlyTheStagesRoles",
                "Effect": "Allow",
                "Action": "iam:*",
                "Resource": [
                    arn
                    for stage in stages
                    for arn in (
                        f"{_arn(stage, 'iam', '')}:role/{stage.stage_id}-*",
                        config.pipeline.post_deploy_role_arn(stage),
                    )
                ],
            },
            {
                "Sid": "ServiceLinkedRoles",
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": f"{_arn(stages[0], 'iam', '')}:role/aws-service-role/*",
            },
        ],
    }


def _arn(stage: StageConfig, service: str, region: str) -> str:
    return f"arn:{partition(stage.region)}:{service}:{region}:{stage.account}"
