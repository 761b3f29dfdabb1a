"""AWS Backup: encrypted vault, hourly plans, selections for the cluster, table and bucket."""

from __future__ import annotations

from aws_cdk import Aws, DefaultStackSynthesizer, Duration, Fn, Names, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from config import BackupConfig, VaultLockConfig
from stages.compliance import KMS_FAMILIES, MANAGED_POLICY, accept_inline_grants, acknowledge
from stages.components.bucket import Bucket
from stages.components.database import Database
from stages.components.encryption import Encryption
from stages.components.table import Table

_BACKUP_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "AWSBackupServiceRolePolicyForS3Backup",
)
_RESTORE_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForRestores",
    "AWSBackupServiceRolePolicyForS3Restore",
)


# A scheduled job may start up to START_WINDOW late and must end within COMPLETION_WINDOW.
START_WINDOW = Duration.hours(1)
COMPLETION_WINDOW = Duration.hours(2)


class Backup(Construct):
    """Two plans on one vault, because rules apply to every selection of their plan.

    - continuous: Aurora and S3 support continuous backup (point-in-time restore within the
      retention, at most 35 days); the hourly job refreshes that recovery point.
    - snapshot: DynamoDB is not covered by continuous backup, so it gets hourly snapshots
      here, on top of the table's own point-in-time recovery.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: BackupConfig,
        keys: Encryption,
        database: Database,
        table: Table,
        bucket: Bucket,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        # Retained on delete: CloudFormation cannot delete a vault that still holds recovery
        # points, so DESTROY would only make stack deletion fail. Not retained when its stack's
        # first create rolls back (it is empty then), so a failed first release leaves nothing
        # behind. Its name ends with the first part of the stack's id, which is new each time
        # the stack is created and never changes on update: a vault left by a deleted stage
        # never blocks creating the stage again.
        self.vault = backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=Fn.join("-", [f"{Names.unique_id(self)}Vault", _stack_id_prefix()]),
            encryption_key=keys.backup,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
            lock_configuration=_lock(config.vault_lock) if config.vault_lock else None,
            # Only AWS Backup's own lifecycle removes recovery points in a retained stage.
            block_recovery_point_deletion=retain,
        )

        if retain:
            self._guard_vault_policy()

        self.backup_role = iam.Role(
            self,
            "BackupRole",
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            description="AWS Backup: back up the DR stage's cluster, table and bucket",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in _BACKUP_POLICIES
            ],
        )
        # The release proof's on-demand jobs run as this role, not the plans': their events
        # carry it in `iamRoleArn`, so the stage's BackupJobProblems rule can leave them to
        # the pipeline, which reports them itself (see backup_events.py).
        self.release_test_role = iam.Role(
            self,
            "ReleaseTestRole",
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            description="AWS Backup: the release proof's on-demand backup jobs of the table",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in _BACKUP_POLICIES
            ],
        )
        self.restore_role = iam.Role(
            self,
            "RestoreRole",
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            description="AWS Backup: restore the DR stage's recovery points (runbook)",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in _RESTORE_POLICIES
            ],
        )
        for role in (self.backup_role, self.release_test_role):
            keys.data.grant_decrypt(role)
            keys.backup.grant_encrypt_decrypt(role)
        keys.data.grant_encrypt_decrypt(self.restore_role)
        keys.backup.grant_decrypt(self.restore_role)
        self._acknowledge_role_findings()

        self.retention = Duration.days(config.retention_days)
        schedule = events.Schedule.expression(config.schedule)

        def plan(plan_id: str, *, continuous: bool) -> backup.BackupPlan:
            return backup.BackupPlan(
                self,
                plan_id,
                # The default name is the construct id, which two stages in one account share.
                backup_plan_name=f"{Names.unique_id(self)}{plan_id}",
                backup_vault=self.vault,
                backup_plan_rules=[
                    backup.BackupPlanRule(
                        rule_name="Hourly",
                        schedule_expression=schedule,
                        start_window=START_WINDOW,
                        # Finish within the hour after the start window, before the next hourly job.
                        completion_window=COMPLETION_WINDOW,
                        delete_after=self.retention,
                        enable_continuous_backup=continuous,
                    )
                ],
            )

        self.continuous_plan = plan("ContinuousPlan", continuous=True)
        self.continuous_plan.add_selection(
            "ClusterAndBucket",
            role=self.backup_role,
            resources=[
                backup.BackupResource.from_rds_database_cluster(database.cluster),
                backup.BackupResource.from_arn(bucket.bucket.bucket_arn),
            ],
            allow_restores=False,
        )
        self.snapshot_plan = plan("SnapshotPlan", continuous=False)
        self.snapshot_plan.add_selection(
            "Table",
            role=self.backup_role,
            resources=[backup.BackupResource.from_dynamo_db_table(table.table)],
            allow_restores=False,
        )

    def _guard_vault_policy(self) -> None:
        """Nobody but CloudFormation's execution role (that is, a reviewed release) may change
        or remove the vault's access policy or its lock: else anyone allowed to could lift the
        deny on deleting recovery points first. Recovery points of Aurora and DynamoDB are
        also reachable through those services' own snapshot APIs, which this policy cannot
        govern (README: Security posture, the SCP that closes it)."""
        stack = Stack.of(self)
        synthesizer = stack.synthesizer
        if not isinstance(synthesizer, DefaultStackSynthesizer):
            raise TypeError("the vault's guard names the CDK bootstrap's execution role")
        release = synthesizer.cloud_formation_execution_role_arn.replace(
            "${AWS::Partition}", stack.partition
        )
        self.vault.add_to_access_policy(
            iam.PolicyStatement(
                sid="OnlyReleasesChangeTheGuard",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=[
                    "backup:PutBackupVaultAccessPolicy",
                    "backup:DeleteBackupVaultAccessPolicy",
                    "backup:PutBackupVaultLockConfiguration",
                    "backup:DeleteBackupVaultLockConfiguration",
                ],
                resources=["*"],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": release}},
            )
        )

    def _acknowledge_role_findings(self) -> None:
        accept_inline_grants(self.backup_role, self.release_test_role, self.restore_role)
        for role in (self.backup_role, self.release_test_role):
            acknowledge(
                role,
                "AWS Backup's own service-role policies are the documented way to back up "
                "Aurora, DynamoDB and S3 (the S3 one is required for S3 backups); they track new "
                "service needs.",
                *(
                    f"AwsSolutions-IAM4[Policy::{MANAGED_POLICY.format(p)}]"
                    for p in _BACKUP_POLICIES
                ),
            )
        acknowledge(
            self.restore_role,
            "AWS Backup's own restore policies are the documented way to restore Aurora, "
            "DynamoDB and S3 recovery points (the S3 one is required for S3 restores).",
            *(f"AwsSolutions-IAM4[Policy::{MANAGED_POLICY.format(p)}]" for p in _RESTORE_POLICIES),
        )
        for role in (self.backup_role, self.release_test_role, self.restore_role):
            acknowledge(
                role,
                "KMS grant on the stage's data and backup keys only (exact key ARNs); the "
                "wildcard is the action family AWS Backup needs to re-encrypt recovery points.",
                *(f"AwsSolutions-IAM5[Action::{action}]" for action in KMS_FAMILIES),
            )


def _stack_id_prefix() -> str:
    """The first 8 hex digits of the stack id's UUID (`arn:...:stack/<name>/<uuid>`)."""
    return Fn.select(0, Fn.split("-", Fn.select(2, Fn.split("/", Aws.STACK_ID))))


def _lock(lock: VaultLockConfig) -> backup.LockConfiguration:
    return backup.LockConfiguration(
        min_retention=Duration.days(lock.min_retention_days),
        max_retention=Duration.days(lock.max_retention_days),
        # Present only in compliance mode: after this grace time the lock is immutable.
        changeable_for=(
            Duration.days(lock.changeable_for_days) if lock.changeable_for_days else None
        ),
    )
