"""Customer-managed KMS keys for the DR stage, with rotation."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stages.components.removal import removal_policy

# Services that publish to the encrypted SNS topic must be able to use its key.
_TOPIC_PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


class Encryption(Construct):
    """Three keys, split by who must be able to use them.

    - `data`: Aurora (storage and the RDS-managed master secret), DynamoDB and S3. One key
      because the same principals read all three stores and they share one lifecycle; a key
      per store would add cost and policy surface without separating any reader.
    - `backup`: the backup vault. Separate so that recovery points stay decryptable, and
      their access reviewable, independently of the live data's key.
    - `notifications`: the SNS topic. Its policy admits AWS service principals (CloudWatch,
      EventBridge), which must never be able to decrypt data.
    """

    def __init__(self, scope: Construct, construct_id: str, *, retain: bool) -> None:
        super().__init__(scope, construct_id)
        removal = removal_policy(retain)
        # Shortest waiting period in dev so torn-down stages release keys quickly.
        pending = Duration.days(30) if retain else Duration.days(7)

        def key(key_id: str, description: str) -> kms.Key:
            return kms.Key(
                self,
                key_id,
                description=description,
                enable_key_rotation=True,
                removal_policy=removal,
                pending_window=pending,
            )

        self.data = key("DataKey", "DR stage data at rest: Aurora, DynamoDB, S3")
        self.backup = key("BackupKey", "DR stage AWS Backup vault")
        self.notifications = key("NotificationsKey", "DR stage SNS notifications")
        for service in _TOPIC_PUBLISHERS:
            self.notifications.grant(
                iam.ServicePrincipal(service), "kms:Decrypt", "kms:GenerateDataKey*"
            )
