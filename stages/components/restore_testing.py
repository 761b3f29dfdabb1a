"""AWS Backup restore testing: on a schedule, restore the newest recovery point of each store
into a new resource that the stage's validator reads (restore_validation.py), then AWS Backup
deletes it. CDK has only the L1 constructs.

The windows are computed, not chosen: a recovery point that the selection window cannot reach
would be skipped without an error, and a validation window shorter than the validator's own
bound would end every Aurora test as TIMED_OUT.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

from aws_cdk import Fn, Names
from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from config import StageConfig
from config.cron import parse
from config.model import backup_gap
from stages.components import backup as backup_component
from stages.components.backup import Backup
from stages.components.bucket import Bucket
from stages.components.database import Database
from stages.components.network import Network
from stages.components.table import Table

# A test may start up to this late; the selection window must still reach a recovery point.
START_WINDOW = timedelta(hours=2)
# The validator's waits (restore_validator.py gives them to it): for a new instance to become
# available, and for it to be deleted before the verdict.
INSTANCE_WAIT = timedelta(minutes=30)
INSTANCE_DELETE_WAIT = timedelta(minutes=20)
# The validator's longest path (Aurora): wait for the restored cluster and a new instance, read,
# delete the instance and wait until it is gone; its own bounds, with room for the step delays.
VALIDATOR_BOUND = (
    INSTANCE_WAIT + timedelta(minutes=5) + INSTANCE_DELETE_WAIT + timedelta(minutes=10)
)
# AWS Backup's limits (CloudFormation reference): 1-365 days, 0-168 hours.
MAX_SELECTION_WINDOW_DAYS = 365
MAX_VALIDATION_WINDOW_HOURS = 168
PROTECTED_TYPES = {"aurora": "Aurora", "dynamodb": "DynamoDB", "s3": "S3"}


def selection_window_days(backup_interval: timedelta) -> int:
    """Days back from a test's start in which the newest recovery point must lie: the longest
    gap between backups, plus a late start and the whole completion window of the backup that
    closes the gap, plus the test's own late start."""
    reach = (
        backup_interval
        + timedelta(seconds=backup_component.START_WINDOW.to_seconds())
        + timedelta(seconds=backup_component.COMPLETION_WINDOW.to_seconds())
        + START_WINDOW
    )
    days = math.ceil(reach / timedelta(days=1))
    if days > MAX_SELECTION_WINDOW_DAYS:
        raise ValueError(f"backups {backup_interval} apart cannot be selected for testing")
    return days


def validation_window_hours(validator_bound: timedelta = VALIDATOR_BOUND) -> int:
    """Hours AWS Backup keeps a restored resource for the validator: its bound, plus an hour."""
    return min(MAX_VALIDATION_WINDOW_HOURS, math.ceil(validator_bound / timedelta(hours=1)) + 1)


def _name(construct: Construct, limit: int = 50) -> str:
    """Letters, digits and underscores only (restore testing names), unique per stage."""
    name = re.sub(r"[^A-Za-z0-9]", "", Names.unique_id(construct))
    return name[-limit:]


class RestoreTesting(Construct):
    """The plan and one selection per store, all restoring with the stage's restore role.

    - Aurora: into the stage's isolated data subnets, with a security group of its own that only
      the validator may reach, the stage's TLS parameter group, IAM database authentication on
      (the validator signs in with a token) and the stage's data key.
    - DynamoDB: vault snapshots (continuous backup does not cover DynamoDB), under the data key.
    - S3: continuous or snapshot recovery points, into a new bucket under the data key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        network: Network,
        backup_stores: Backup,
        database: Database,
        table: Table,
        bucket: Bucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.restored_cluster_security_group = ec2.SecurityGroup(
            self,
            "RestoredClusterSecurityGroup",
            vpc=network.vpc,
            description="Clusters restored by restore tests: admits only the restore validator",
            allow_all_outbound=False,
        )
        self.plan = backup.CfnRestoreTestingPlan(
            self,
            "Plan",
            restore_testing_plan_name=_name(self),
            schedule_expression=config.restore_testing.schedule,
            start_window_hours=int(START_WINDOW / timedelta(hours=1)),
            recovery_point_selection=backup.CfnRestoreTestingPlan.RestoreTestingRecoveryPointSelectionProperty(
                algorithm="LATEST_WITHIN_WINDOW",
                include_vaults=[backup_stores.vault.backup_vault_arn],
                recovery_point_types=["CONTINUOUS", "SNAPSHOT"],
                selection_window_days=selection_window_days(backup_gap(config.backup)),
            ),
        )
        self.plan_name = self.plan.restore_testing_plan_name
        key = table.key.key_arn
        overrides = {
            "aurora": {
                "dbSubnetGroupName": database.subnet_group_name,
                "vpcSecurityGroupIds": Fn.join(
                    "", ['["', self.restored_cluster_security_group.security_group_id, '"]']
                ),
                "dbClusterParameterGroupName": database.cluster_parameter_group_name,
                "enableIamDatabaseAuthentication": "true",
                "kmsKeyId": key,
            },
            "dynamodb": {"encryptionType": "KMS", "kmsMasterKeyArn": key},
            "s3": {"encryptionType": "SSE-KMS", "kmsKey": key},
        }
        resources = {
            "aurora": database.cluster.cluster_arn,
            "dynamodb": table.table.table_arn,
            "s3": bucket.bucket.bucket_arn,
        }
        self.selections = {
            store: backup.CfnRestoreTestingSelection(
                self,
                f"{kind}Selection",
                restore_testing_plan_name=self.plan_name,
                restore_testing_selection_name=kind,
                protected_resource_type=kind,
                protected_resource_arns=[resources[store]],
                iam_role_arn=backup_stores.restore_role.role_arn,
                restore_metadata_overrides=overrides[store],
                validation_window_hours=validation_window_hours(),
            )
            for store, kind in PROTECTED_TYPES.items()
        }
        for selection in self.selections.values():
            selection.node.add_dependency(self.plan)

    @property
    def plan_arn(self) -> str:
        return self.plan.attr_restore_testing_plan_arn

    @property
    def schedule_interval(self) -> timedelta:
        return parse(self.plan.schedule_expression).longest_gap()
