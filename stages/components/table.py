"""DynamoDB table: on demand, CMK-encrypted, point-in-time recovery."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from stages.components.removal import protected_removal_policy

# PITR is billed on table size, not on the window: keep the longest one.
PITR_RECOVERY_DAYS = 35


class Table(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, retain: bool) -> None:
        super().__init__(scope, construct_id)
        self.key = key
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True,
                recovery_period_in_days=PITR_RECOVERY_DAYS,
            ),
            deletion_protection=retain,
            removal_policy=protected_removal_policy(retain),
        )
