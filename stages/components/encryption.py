"""Customer-managed KMS keys for the DR stage, with rotation."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stages.components.removal import removal_policy

# Services that publish to the encrypted SNS topic must be able to use its key.
_TOPIC_PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


class Encryption(Construct):
    """Four keys, split by who must be able to use them.

    - `data`: Aurora (storage and the RDS-managed master secret), DynamoDB and S3. One key
      because the same principals read all three stores and they share one lifecycle; a key
      per store would add cost and policy surface without separating any reader.
    - `backup`: the backup vault, which encrypts S3's recovery points with it. Aurora's and
      DynamoDB's recovery points stay under the `data` key (AWS Backup keeps the source's key
      for resource types it does not fully manage), so both keys outlive every stage's data.
    - `notifications`: the SNS topic. Its policy admits AWS service principals (CloudWatch,
      EventBridge), which must never be able to decrypt data.
    - `logs`: the stage's CloudWatch Logs log groups (VPC flow logs, the function's logs). Its
      policy admits CloudWatch Logs for this account's log groups only.
    """

    def __init__(self, scope: Construct, construct_id: str, *, retain: bool) -> None:
        super().__init__(scope, construct_id)
        # Shortest waiting period in a destroy stage so torn-down stages release keys quickly.
        pending = Duration.days(30) if retain else Duration.days(7)

        def key(key_id: str, description: str, removal: RemovalPolicy) -> kms.Key:
            return kms.Key(
                self,
                key_id,
                description=description,
                enable_key_rotation=True,
                removal_policy=removal,
                pending_window=pending,
            )

        # Every stage retains its vault, and with it recovery points encrypted under these two
        # keys: a key deleted with the stack would make them unrestorable. Kept on delete in
        # every stage, not on a failed first create (nothing is encrypted then); README
        # "Tearing down" says when to schedule their deletion.
        recovery_points = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        self.data = key("DataKey", "DR stage data at rest: Aurora, DynamoDB, S3", recovery_points)
        self.backup = key("BackupKey", "DR stage AWS Backup vault", recovery_points)
        self.notifications = key(
            "NotificationsKey", "DR stage SNS notifications", removal_policy(retain)
        )
        for service in _TOPIC_PUBLISHERS:
            self.notifications.grant(
                iam.ServicePrincipal(service), "kms:Decrypt", "kms:GenerateDataKey*"
            )
        # Kept as long as the flow logs it encrypts (a year in a retained stage).
        self.logs = key("LogsKey", "DR stage CloudWatch Logs", removal_policy(retain))
        stack = Stack.of(self)
        # CloudWatch Logs encrypts with the log group's ARN as encryption context (CloudWatch
        # Logs user guide, "Encrypt log data ... using AWS KMS"); CDK adds no statement for it.
        self.logs.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                        )
                    }
                },
            )
        )
