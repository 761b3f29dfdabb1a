"""What the restore tests prove, as alarms on the stage's topic: per store, a restore that was
not validated, a measured RPO or RTO over its target, and no validated restore for longer than
the test schedule allows (no data is no proof); and any restore test job that failed.

The validator emits the metrics (embedded metric format, namespace DisasterRecovery,
dimensions `service` and `Store`): RestoreValidated (1 or 0), RestoreRpoSeconds,
RestoreRtoSeconds, RestoreJobSeconds.
"""

from __future__ import annotations

import math
from datetime import timedelta

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import StageConfig
from config.cron import parse
from config.model import STORES
from stages.components.restore_testing import START_WINDOW, VALIDATOR_BOUND

METRICS_NAMESPACE = "DisasterRecovery"
ONE_HOUR = Duration.hours(1)
# A restore itself may take this long beyond the test's start window and the validator's
# bound before "no validated restore" is reported (large Aurora volumes restore for hours).
RESTORE_SLACK = timedelta(hours=6)


def proof_window(restore_schedule: str) -> timedelta:
    """How long a store may go without a validated restore: the longest gap between tests, a
    late start, the validator's bound and the restore's own time."""
    gap = parse(restore_schedule).longest_gap()
    return gap + START_WINDOW + VALIDATOR_BOUND + RESTORE_SLACK


# CloudWatch evaluates at most 7 days of periods of an hour or more (PutMetricAlarm).
MAX_EVALUATION = timedelta(days=7)


def proof_periods(restore_schedule: str) -> tuple[timedelta, int]:
    """The alarm's period (whole hours, as short as 7 days of them allow) and how many of them
    cover the proof window."""
    window = proof_window(restore_schedule)
    hours = math.ceil(window / timedelta(hours=1))
    period_hours = math.ceil(hours / (MAX_EVALUATION / timedelta(hours=1)))
    return timedelta(hours=period_hours), math.ceil(hours / period_hours)


class RestoreAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        config: StageConfig,
        service_name: str,
        restore_job_failures: events.Rule,
    ) -> None:
        super().__init__(scope, construct_id)
        self.service_name = service_name
        self._action = actions.SnsAction(topic)
        self.config = config
        self.not_validated: dict[str, cloudwatch.Alarm] = {}
        self.rpo_over_target: dict[str, cloudwatch.Alarm] = {}
        self.rto_over_target: dict[str, cloudwatch.Alarm] = {}
        self.not_proven: dict[str, cloudwatch.Alarm] = {}
        for store in STORES:
            self._store_alarms(store)
        self.job_failed = self._alarm(
            "RestoreJobFailed",
            description="A restore test job of this stage's plan failed or was aborted",
            metric=cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="TriggeredRules",
                dimensions_map={"RuleName": restore_job_failures.rule_name},
                statistic=cloudwatch.Stats.SUM,
                period=Duration.minutes(5),
            ),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def metric(
        self, name: str, store: str, statistic: str, *, labeled: bool = True
    ) -> cloudwatch.Metric:
        """A validator metric; labeled (by store) for graphs, plain for alarms (a label makes
        CDK render an alarm's metric as a query, where the plain form reads more easily)."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": self.service_name, "Store": store},
            statistic=statistic,
            period=ONE_HOUR,
            label=store if labeled else None,
        )

    def _store_alarms(self, store: str) -> None:
        title = {"aurora": "Aurora", "dynamodb": "DynamoDB", "s3": "S3"}[store]
        rpo = self.config.rpo_target(store).total_seconds()
        rto = self.config.rto_target(store).total_seconds()
        above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        below = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
        # A test reports once a schedule: until the next one, the last verdict stands...
        quiet = cloudwatch.TreatMissingData.IGNORE
        self.not_validated[store] = self._alarm(
            f"Restore{title}NotValidated",
            description=f"The last restore test of {title} failed its validation",
            metric=self.metric("RestoreValidated", store, cloudwatch.Stats.MINIMUM, labeled=False),
            threshold=1,
            comparison=below,
            evaluation_periods=1,
            missing=quiet,
        )
        self.rpo_over_target[store] = self._alarm(
            f"Restore{title}RpoOverTarget",
            description=f"Measured RPO of {title} in a restore test above {rpo:.0f} s",
            metric=self.metric("RestoreRpoSeconds", store, cloudwatch.Stats.MAXIMUM, labeled=False),
            threshold=rpo,
            comparison=above,
            evaluation_periods=1,
            missing=quiet,
        )
        self.rto_over_target[store] = self._alarm(
            f"Restore{title}RtoOverTarget",
            description=f"Measured RTO of {title} in a restore test above {rto:.0f} s",
            metric=self.metric("RestoreRtoSeconds", store, cloudwatch.Stats.MAXIMUM, labeled=False),
            threshold=rto,
            comparison=above,
            evaluation_periods=1,
            missing=quiet,
        )
        # ...but a whole proof window without a validated restore is a store that is not
        # proven restorable: every hour of it (missing, or a failed validation) breaches. A
        # new stage is in this state until its first test validates: honestly so.
        period, periods = proof_periods(self.config.restore_testing.schedule)
        hours = int(period / timedelta(hours=1)) * periods
        self.not_proven[store] = self._alarm(
            f"Restore{title}NotProven",
            description=(
                f"No validated restore of {title} for {hours} hours (the restore test schedule, "
                "its start window, the validator's bound and the restore's own time)"
            ),
            metric=self.metric(
                "RestoreValidated", store, cloudwatch.Stats.MAXIMUM, labeled=False
            ).with_(period=Duration.seconds(period.total_seconds())),
            threshold=1,
            comparison=below,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            missing=cloudwatch.TreatMissingData.BREACHING,
        )

    def _alarm(
        self,
        alarm_id: str,
        *,
        description: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
        evaluation_periods: int,
        missing: cloudwatch.TreatMissingData,
        datapoints_to_alarm: int | None = None,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            alarm_id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        return alarm

    @property
    def all(self) -> list[cloudwatch.Alarm]:
        return [
            *self.not_validated.values(),
            *self.rpo_over_target.values(),
            *self.rto_over_target.values(),
            *self.not_proven.values(),
            self.job_failed,
        ]
