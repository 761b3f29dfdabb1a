"""CloudWatch alarms that notify the stage's SNS topic."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from stages.components.backup_events import BackupEvents
from stages.components.database import Database
from stages.components.dead_letters import DeadLetters
from stages.components.health_check import HealthCheck
from stages.components.table import Table

FIVE_MINUTES = Duration.minutes(5)
ONE_MINUTE = Duration.minutes(1)
CPU_THRESHOLD_PERCENT = 80
CPU_SUSTAINED_MINUTES = 10


class Alarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        database: Database,
        table: Table,
        health_check: HealthCheck,
        backup_events: BackupEvents,
        dead_letters: DeadLetters,
    ) -> None:
        super().__init__(scope, construct_id)
        self._action = actions.SnsAction(topic)
        above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        at_least = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD

        self.database_cpu = self._alarm(
            "DatabaseCpu",
            description="The busiest Aurora instance above 80% CPU for 10 minutes in a row",
            # The cluster's series aggregates its instances' per-minute datapoints: a one-minute
            # Maximum is the busiest instance in that minute, so idle readers cannot hide a
            # saturated writer behind an average, and ten in a row is sustained load, not a spike.
            metric=database.cluster.metric_cpu_utilization(
                period=ONE_MINUTE, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=CPU_THRESHOLD_PERCENT,
            comparison=above,
            evaluation_periods=CPU_SUSTAINED_MINUTES,
            # Running instances report every minute; a gap (failover, maintenance) says
            # nothing about load, so the alarm keeps its state. Outages are the health
            # check's job.
            missing=cloudwatch.TreatMissingData.IGNORE,
        )
        self.table_throttling = self._alarm(
            "TableThrottling",
            description=(
                "DynamoDB table throttled reads or writes (returns to OK at the next 5-minute "
                "period in which the health check ran and nothing was throttled)"
            ),
            metric=cloudwatch.MathExpression(
                # DynamoDB publishes throttle events only when they happen, and alarms on
                # AWS/DynamoDB metrics keep their state when data is missing, whatever
                # TreatMissingData says: after a burst a plain throttle alarm would stay in
                # ALARM. The health check's invocations (AWS/Lambda, every 5 minutes) give the
                # expression a value in each period it ran: 0 unless something was throttled.
                expression="FILL(reads, 0) + FILL(writes, 0) + 0 * FILL(checks, 0)",
                using_metrics={
                    "reads": table.table.metric(
                        "ReadThrottleEvents", statistic=cloudwatch.Stats.SUM, period=FIVE_MINUTES
                    ),
                    "writes": table.table.metric(
                        "WriteThrottleEvents", statistic=cloudwatch.Stats.SUM, period=FIVE_MINUTES
                    ),
                    "checks": health_check.function.metric_invocations(
                        statistic=cloudwatch.Stats.SUM, period=FIVE_MINUTES
                    ),
                },
                label="Throttle events",
                period=FIVE_MINUTES,
            ),
            threshold=1,
            comparison=at_least,
            evaluation_periods=1,
            # A period with no datapoint at all (no check ran, nothing throttled) changes
            # nothing; the health alarms report a check that stopped running.
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.health_check_errors = self._alarm(
            "HealthCheckErrors",
            description="Health-check function failed (error or timeout)",
            metric=health_check.function.metric_errors(
                period=FIVE_MINUTES, statistic=cloudwatch.Stats.SUM
            ),
            threshold=1,
            comparison=at_least,
            evaluation_periods=1,
            # No invocations means no errors; Lambda publishes no datapoint then.
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.health_check_unhealthy = self._alarm(
            "HealthCheckUnhealthy",
            description=(
                "DR health check: a data store failed two scheduled checks in a row "
                "(ALARM), or no check reported for 10 minutes (INSUFFICIENT_DATA, notified "
                "too: a check that does not run proves nothing)"
            ),
            metric=health_check.metric_healthy(),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=2,
            # Not BREACHING: a new alarm with no data would go to ALARM at its first evaluation
            # and page on every new stage's first deploy. MISSING keeps a new alarm in
            # INSUFFICIENT_DATA until the first check reports, and sends a silent check from OK
            # to INSUFFICIENT_DATA, which notifies the topic like ALARM does.
            missing=cloudwatch.TreatMissingData.MISSING,
            notify_insufficient_data=True,
        )
        self.backup_job_problems = self._alarm(
            "BackupJobProblems",
            description=(
                "AWS Backup job into this stage's vault failed, aborted, expired, partial or "
                "completed with issues"
            ),
            metric=backup_events.backup_job_problem_count(),
            threshold=1,
            comparison=at_least,
            evaluation_periods=1,
            # The rule's metric exists only for periods in which it matched an event.
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

        self.undelivered_events = self._alarm(
            "UndeliveredEvents",
            description=(
                "An event target (health-check schedule, backup job notification) or a "
                "health-check run failed: its event is in the stage's dead-letter queue"
            ),
            metric=dead_letters.metric_waiting(),
            threshold=1,
            comparison=at_least,
            evaluation_periods=1,
            # SQS publishes queue metrics every few minutes while the queue exists; a gap
            # says nothing about failures.
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
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
        notify_insufficient_data: bool = False,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            alarm_id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        if notify_insufficient_data:
            alarm.add_insufficient_data_action(self._action)
        return alarm
