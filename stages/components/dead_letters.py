"""Where events that could not be delivered go: one queue for the stage's EventBridge targets
(the health check's schedule, the backup job notifications) and the health check's failed
asynchronous invocations, so nothing is lost without a trace; an alarm reports any message."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct

# As long as SQS keeps a message: time to read what failed and why.
RETENTION = Duration.days(14)


class DeadLetters(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # SQS-managed encryption: EventBridge and Lambda can write to it with no key policy of
        # ours to widen (a customer managed key would need these service principals in it).
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=RETENTION,
        )

    def metric_waiting(self) -> cloudwatch.Metric:
        """Messages in the queue: each is an event or invocation that failed."""
        return self.queue.metric_approximate_number_of_messages_visible(
            statistic=cloudwatch.Stats.MAXIMUM, period=Duration.minutes(5)
        )
