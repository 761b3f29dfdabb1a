"""The disaster-recovery Stage: a stateful and a stateless stack, checked by cdk-nag."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from aws_cdk import CfnOutput, Environment, Stack, Stage
from constructs import Construct

from config import PipelineConfig, StageConfig
from config.model import STORES, backup_gap
from stages.compliance import register_checks
from stages.components.backup import COMPLETION_WINDOW, START_WINDOW
from stages.data_stack import DataStack
from stages.service_stack import ServiceStack


@dataclass(frozen=True)
class StageOutputs:
    """What the post-deploy checks read (e.g. as `env_from_cfn_outputs`)."""

    health_check_function_name: CfnOutput
    table_name: CfnOutput
    table_arn: CfnOutput
    bucket_name: CfnOutput
    backup_vault_name: CfnOutput
    backup_role_arn: CfnOutput
    restore_role_arn: CfnOutput
    cluster_arn: CfnOutput
    proxy_endpoint: CfnOutput
    proxy_reader_endpoint: CfnOutput
    topic_arn: CfnOutput
    dashboard_name: CfnOutput
    post_deploy_role_arn: CfnOutput
    backup_test_role_arn: CfnOutput
    backup_test_on_release: CfnOutput
    # What `dr` needs to restore with the stage's network, key and settings, and to judge.
    data_key_arn: CfnOutput
    cluster_security_group_id: CfnOutput
    restored_cluster_security_group_id: CfnOutput
    db_subnet_group_name: CfnOutput
    db_cluster_parameter_group_name: CfnOutput
    db_instance_class: CfnOutput
    backup_retention_days: CfnOutput
    restore_testing_plan_arn: CfnOutput
    restore_reader_function_name: CfnOutput
    restore_targets: CfnOutput
    removal_posture: CfnOutput
    backup_first_point_seconds: CfnOutput


class DrStage(Stage):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        pipeline: PipelineConfig,
    ) -> None:
        super().__init__(
            scope, construct_id, env=Environment(account=config.account, region=config.region)
        )
        self.config = config
        self.data = DataStack(self, "Data", config=config)
        self.service = ServiceStack(
            self, "Service", config=config, pipeline=pipeline, data=self.data
        )
        self.outputs = self._outputs()
        register_checks(self)

    def _outputs(self) -> StageOutputs:
        data, service = self.data, self.service

        def output(stack: Stack, output_id: str, value: str, description: str) -> CfnOutput:
            return CfnOutput(stack, output_id, value=value, description=description)

        return StageOutputs(
            health_check_function_name=output(
                service,
                "HealthCheckFunctionName",
                service.health_check.function.function_name,
                "Health-check Lambda function",
            ),
            table_name=output(data, "TableName", data.table.table.table_name, "DynamoDB table"),
            table_arn=output(data, "TableArn", data.table.table.table_arn, "DynamoDB table ARN"),
            bucket_name=output(data, "BucketName", data.bucket.bucket.bucket_name, "S3 bucket"),
            backup_vault_name=output(
                data, "BackupVaultName", data.backup.vault.backup_vault_name, "AWS Backup vault"
            ),
            backup_role_arn=output(
                data, "BackupRoleArn", data.backup.backup_role.role_arn, "Role for backup jobs"
            ),
            restore_role_arn=output(
                data, "RestoreRoleArn", data.backup.restore_role.role_arn, "Role for restores"
            ),
            cluster_arn=output(
                data, "ClusterArn", data.database.cluster.cluster_arn, "Aurora cluster ARN"
            ),
            proxy_endpoint=output(
                data, "ProxyEndpoint", data.database.proxy.endpoint, "RDS Proxy (read/write)"
            ),
            proxy_reader_endpoint=output(
                data,
                "ProxyReaderEndpoint",
                data.database.reader_endpoint.endpoint,
                "RDS Proxy (read-only)",
            ),
            topic_arn=output(
                data, "TopicArn", data.notifications.topic.topic_arn, "Notifications topic"
            ),
            dashboard_name=output(
                service,
                "DashboardName",
                service.dashboard.dashboard.dashboard_name,
                "CloudWatch dashboard",
            ),
            post_deploy_role_arn=output(
                service,
                "PostDeployRoleArn",
                service.post_deploy.role.role_arn,
                "Role the post-deploy tests assume",
            ),
            backup_test_role_arn=output(
                data,
                "BackupTestRoleArn",
                data.backup.release_test_role.role_arn,
                "Role for the release proof's backup jobs (alarms ignore them)",
            ),
            backup_test_on_release=output(
                service,
                "BackupTestOnRelease",
                "true" if self.config.backup.test_on_release else "false",
                "Whether the release proof runs a backup job (config backup.testOnRelease)",
            ),
            **self._restore_outputs(output),
        )

    def _restore_outputs(
        self, output: Callable[[Stack, str, str, str], CfnOutput]
    ) -> dict[str, CfnOutput]:
        data, service, config = self.data, self.service, self.config
        database = data.database
        targets = {
            store: {
                "rpoSeconds": int(config.rpo_target(store).total_seconds()),
                "rtoSeconds": int(config.rto_target(store).total_seconds()),
            }
            for store in STORES
        }
        return {
            "data_key_arn": output(data, "DataKeyArn", data.keys.data.key_arn, "Data key"),
            "cluster_security_group_id": output(
                data,
                "ClusterSecurityGroupId",
                database.security_group.security_group_id,
                "Aurora cluster's security group (admits the proxy)",
            ),
            "restored_cluster_security_group_id": output(
                data,
                "RestoredClusterSecurityGroupId",
                data.restore_testing.restored_cluster_security_group.security_group_id,
                "Security group of restored clusters (admits the restore reader)",
            ),
            "db_subnet_group_name": output(
                data, "DbSubnetGroupName", database.subnet_group_name, "Aurora DB subnet group"
            ),
            "db_cluster_parameter_group_name": output(
                data,
                "DbClusterParameterGroupName",
                database.cluster_parameter_group_name,
                "Aurora cluster parameter group",
            ),
            "db_instance_class": output(
                data,
                "DbInstanceClass",
                f"db.{config.database.instance_class}",
                "The cluster's instance class (a restored writer gets the same)",
            ),
            "backup_retention_days": output(
                data,
                "BackupRetentionDays",
                str(config.backup.retention_days),
                "How long recovery points are kept",
            ),
            "restore_testing_plan_arn": output(
                data,
                "RestoreTestingPlanArn",
                data.restore_testing.plan_arn,
                "AWS Backup restore testing plan",
            ),
            "restore_reader_function_name": output(
                service,
                "RestoreReaderFunctionName",
                service.restore_validator.reader.function_name,
                "Reads a restored cluster's canary from inside the VPC",
            ),
            "removal_posture": output(
                data,
                "RemovalPosture",
                str(config.removal.value),
                "retain or destroy (config removal); `dr restore` asks for --yes on retain",
            ),
            "backup_first_point_seconds": output(
                data,
                "BackupFirstPointSeconds",
                str(int(first_recovery_point_within(config).total_seconds())),
                "A new stage's first scheduled recovery point is due within this many seconds",
            ),
            "restore_targets": output(
                service,
                "RestoreTargets",
                json.dumps(targets, sort_keys=True, separators=(",", ":")),
                "RPO and RTO targets per store, in seconds",
            ),
        }


def first_recovery_point_within(config: StageConfig) -> timedelta:
    """The longest a new stage waits for its plan's first recovery point: the schedule's
    longest gap, then the job's start and completion windows."""
    return (
        backup_gap(config.backup)
        + timedelta(seconds=START_WINDOW.to_seconds())
        + timedelta(seconds=COMPLETION_WINDOW.to_seconds())
    )
