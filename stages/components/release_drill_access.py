"""What the release's restore drill adds to the post-deploy role: restoring the table and the
bucket through AWS Backup into new resources named `dr-drill-<stage>-*`, reading their
canaries and deleting them. Nothing on the stage's live table or bucket."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stages.compliance import acknowledge

# dr_cli.restores.new_name: dr-<purpose>-<stage>-<store>-<time>-<random>, cut at 63
# characters; a stage name has at most 32, so this prefix is never cut.
DRILL_PREFIX = "dr-drill-{stage}-"


class ReleaseDrillAccess(Construct):
    """The drill's permissions, on `role` (Service Authorization Reference for each action):

    - CloudFormation DescribeStacks on the stage's own stacks (their outputs name the rest);
    - AWS Backup ListRecoveryPointsByResource and DescribeRestoreJob (neither has a resource
      type), StartRestoreJob on recovery points in this account and Region (AWS Backup's own
      and DynamoDB backups), passing only the stage's restore role to AWS Backup,
      which does the restoring;
    - DescribeTable, GetItem and DeleteTable on restored tables; GetObject,
      ListBucketVersions, DeleteObject, DeleteObjectVersion and DeleteBucket on restored
      buckets, by the drill's name prefix;
    - kms:Decrypt on the data key that the restored copies are encrypted with (S3 SSE-KMS
      reads; DynamoDB decrypts a table's key for its caller).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role: iam.Role,
        stage_name: str,
        stacks: Sequence[Stack],
        restore_role: iam.IRole,
        data_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.restored_prefix = DRILL_PREFIX.format(stage=stage_name.lower())
        restored_table = stack.format_arn(
            service="dynamodb", resource="table", resource_name=f"{self.restored_prefix}*"
        )
        restored_bucket = f"arn:{stack.partition}:s3:::{self.restored_prefix}*"
        recovery_points = [
            stack.format_arn(
                service="backup",
                resource="recovery-point",
                resource_name="*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
            # A DynamoDB recovery point of AWS Backup (without advanced features) is a
            # DynamoDB backup, table/<table>/backup/<id>. The table's name is the Data
            # stack's, which a pattern here cannot name without a cross-stack reference.
            stack.format_arn(service="dynamodb", resource="table", resource_name="*/backup/*"),
        ]
        self.statements = [
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks"],
                resources=[
                    stack.format_arn(
                        service="cloudformation",
                        resource="stack",
                        resource_name=f"{each.stack_name}/*",
                    )
                    for each in stacks
                ],
            ),
            iam.PolicyStatement(
                actions=["backup:ListRecoveryPointsByResource", "backup:DescribeRestoreJob"],
                resources=["*"],
            ),
            iam.PolicyStatement(actions=["backup:StartRestoreJob"], resources=recovery_points),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[restore_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                actions=["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:DeleteTable"],
                resources=[restored_table],
            ),
            iam.PolicyStatement(
                actions=["s3:ListBucketVersions", "s3:DeleteBucket"], resources=[restored_bucket]
            ),
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[f"{restored_bucket}/*"],
            ),
        ]
        for statement in self.statements:
            role.add_to_policy(statement)
        data_key.grant_decrypt(role)
        acknowledge(
            role,
            "The release drill: ListRecoveryPointsByResource and DescribeRestoreJob have no "
            "resource type; StartRestoreJob takes any recovery point (AWS Backup's, or a "
            "DynamoDB backup) of this account and Region, as the newest is found at run time, "
            "and restores only as the stage's restore role; the restored tables and buckets "
            "are new, named by the drill's prefix.",
            *sorted(
                {
                    f"AwsSolutions-IAM5[Resource::{arn}]"
                    for statement in self.statements
                    for arn in statement.resources
                    if "*" in arn and arn != "*"  # "*": PostDeployAccess's, which says why
                }
            ),
        )
