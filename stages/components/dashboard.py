"""The stage's CloudWatch dashboard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from aws_cdk import Duration, Fn
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from config.model import STORES
from stages.components.alarms import Alarms
from stages.components.backup_freshness import BackupFreshness
from stages.components.database import Database
from stages.components.health_check import COMPONENTS, HealthCheck
from stages.components.restore_alarms import RestoreAlarms
from stages.components.table import Table

FIVE_MINUTES = Duration.minutes(5)
ONE_HOUR = Duration.hours(1)


class Dashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        database: Database,
        reader_count: int,
        table: Table,
        health_check: HealthCheck,
        vault: backup.IBackupVault,
        alarms: Alarms,
        restore_alarms: RestoreAlarms,
        backup_freshness: BackupFreshness,
        data_revision: str,
    ) -> None:
        super().__init__(scope, construct_id)
        cluster, function = database.cluster, health_check.function

        def graph(title: str, metrics: list[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=metrics, width=8, height=6)

        # The writer is the first instance; readers follow in order.
        readers = [
            Fn.select(index + 1, cluster.instance_identifiers) for index in range(reader_count)
        ]
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(6))
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms",
                alarms=[
                    alarms.database_cpu,
                    alarms.table_throttling,
                    alarms.health_check_errors,
                    alarms.health_check_unhealthy,
                    alarms.backup_job_problems,
                    alarms.undelivered_events,
                ],
                width=24,
                height=3,
            )
        )
        self.dashboard.add_widgets(
            graph("Aurora CPU (%)", [cluster.metric_cpu_utilization(period=FIVE_MINUTES)]),
            graph(
                "Aurora connections",
                [cluster.metric_database_connections(period=FIVE_MINUTES)],
            ),
            graph(
                "Aurora replica lag (ms)",
                [
                    cloudwatch.Metric(
                        namespace="AWS/RDS",
                        metric_name="AuroraReplicaLag",
                        dimensions_map={"DBInstanceIdentifier": reader},
                        statistic=cloudwatch.Stats.MAXIMUM,
                        period=FIVE_MINUTES,
                        label=f"Reader {index + 1}",
                    )
                    for index, reader in enumerate(readers)
                ],
            ),
        )
        self.dashboard.add_widgets(
            graph(
                "DynamoDB consumed capacity",
                [
                    table.table.metric_consumed_read_capacity_units(period=FIVE_MINUTES),
                    table.table.metric_consumed_write_capacity_units(period=FIVE_MINUTES),
                ],
            ),
            graph(
                "Health check invocations and errors",
                [
                    function.metric_invocations(period=FIVE_MINUTES),
                    function.metric_errors(period=FIVE_MINUTES),
                ],
            ),
            graph(
                "Health check duration (ms)",
                [
                    function.metric_duration(period=FIVE_MINUTES, statistic="p50"),
                    function.metric_duration(period=FIVE_MINUTES, statistic="p95"),
                ],
            ),
        )
        self.dashboard.add_widgets(
            graph("DR health (1 = every store healthy)", [health_check.metric_healthy()]),
            graph(
                "Health check latency per store (p95, ms)",
                [health_check.metric_component_latency(c) for c in COMPONENTS],
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="AWS Backup jobs into this vault (per hour)",
                left=[
                    _backup_jobs(vault, "NumberOfBackupJobsCompleted", "Completed"),
                    _backup_jobs(vault, "NumberOfBackupJobsFailed", "Failed"),
                    _backup_jobs(vault, "NumberOfBackupJobsAborted", "Aborted"),
                    _backup_jobs(vault, "NumberOfBackupJobsExpired", "Expired"),
                ],
                width=24,
                height=6,
            )
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title=(
                    f"Backups completed within their schedule ({backup_freshness.window_hours} h)"
                ),
                alarms=list(backup_freshness.alarms.values()),
                width=24,
                height=3,
            )
        )
        self._add_restore_widgets(restore_alarms)
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    f"Data stack template `{data_revision}`: this stack changes with it, so each "
                    "release re-reads the Data stack's outputs."
                ),
                width=24,
                height=2,
            )
        )

    def _add_restore_widgets(self, restore: RestoreAlarms) -> None:
        """Measured RPO and RTO per store beside their targets, and the tests' verdicts."""
        config = restore.config

        def measured(
            name: str, title: str, target: Callable[[str], timedelta]
        ) -> cloudwatch.IWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=[restore.metric(name, store, cloudwatch.Stats.MAXIMUM) for store in STORES],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=target(store).total_seconds(), label=f"{store} target"
                    )
                    for store in STORES
                ],
                period=Duration.days(1),
                width=8,
                height=6,
            )

        self.dashboard.add_widgets(
            measured("RestoreRpoSeconds", "Restore tests: measured RPO (s)", config.rpo_target),
            measured("RestoreRtoSeconds", "Restore tests: measured RTO (s)", config.rto_target),
            cloudwatch.GraphWidget(
                title="Restore tests: validated (1) or not (0)",
                left=[
                    restore.metric("RestoreValidated", store, cloudwatch.Stats.MINIMUM)
                    for store in STORES
                ],
                period=Duration.days(1),
                width=8,
                height=6,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Restore tests", alarms=restore.all, width=24, height=3
            )
        )


def _backup_jobs(vault: backup.IBackupVault, metric_name: str, label: str) -> cloudwatch.IMetric:
    # AWS Backup publishes each job metric with the dimension sets {BackupVaultName} and
    # {BackupVaultName, ResourceType}, and only when nonzero. A search's schema matches series
    # with exactly its dimensions: the vault-only set, this vault's series, once per job.
    query = (
        f'SEARCH(\'{{AWS/Backup,BackupVaultName}} MetricName="{metric_name}" '
        f"BackupVaultName=\"{vault.backup_vault_name}\"', 'Sum', 3600)"
    )
    return cloudwatch.MathExpression(expression=f"SUM({query})", label=label, period=ONE_HOUR)
