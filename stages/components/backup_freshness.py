"""Backups that silently stop: per store, an alarm when no backup job of it has completed in
this stage's vault for longer than the schedule allows. A failed job alarms elsewhere
(backup_events.py); this one catches what sends no event at all: a plan whose selection no
longer matches, a disabled rule, a deleted resource.

AWS Backup publishes NumberOfBackupJobsCompleted per vault and resource type, and only when
nonzero: no datapoint is no job, so missing data breaches. A new stage is in ALARM until its
first jobs complete (within the schedule's first run and its windows).
"""

from __future__ import annotations

import math
from datetime import timedelta

from aws_cdk import Duration
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import BackupConfig
from config.model import backup_gap
from stages.components import backup as backup_component

# AWS Backup's resource types, as the metric's ResourceType dimension names them.
RESOURCE_TYPES = {"aurora": "Aurora", "dynamodb": "DynamoDB", "s3": "S3"}


def freshness_window(config: BackupConfig) -> timedelta:
    """The longest a store may go without a completed job: the schedule's longest gap, then
    the next job's start and completion windows."""
    return (
        backup_gap(config)
        + timedelta(seconds=backup_component.START_WINDOW.to_seconds())
        + timedelta(seconds=backup_component.COMPLETION_WINDOW.to_seconds())
    )


class BackupFreshness(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: BackupConfig,
        vault: backup.IBackupVault,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        hours = math.ceil(freshness_window(config) / timedelta(hours=1))
        # At most 7 days of periods of an hour or more (PutMetricAlarm): longer windows count
        # in longer periods.
        period_hours = math.ceil(hours / (7 * 24))
        periods = math.ceil(hours / period_hours)
        self.window_hours = period_hours * periods
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for store, resource_type in RESOURCE_TYPES.items():
            alarm = cloudwatch.Alarm(
                self,
                f"{resource_type}Stale",
                alarm_description=(
                    f"No backup job of the {resource_type} store completed in this stage's vault "
                    f"for {self.window_hours} hours (the schedule's longest gap and the next "
                    "job's windows)"
                ),
                metric=self.metric_completed(vault, resource_type).with_(
                    period=Duration.hours(period_hours)
                ),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            )
            alarm.add_alarm_action(actions.SnsAction(topic))
            alarm.add_ok_action(actions.SnsAction(topic))
            self.alarms[store] = alarm

    @staticmethod
    def metric_completed(vault: backup.IBackupVault, resource_type: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/Backup",
            metric_name="NumberOfBackupJobsCompleted",
            dimensions_map={
                "BackupVaultName": vault.backup_vault_name,
                "ResourceType": resource_type,
            },
            statistic=cloudwatch.Stats.SUM,
            period=Duration.hours(1),
        )
