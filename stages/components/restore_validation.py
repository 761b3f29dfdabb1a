"""The restore validator's wiring: each restore test job of this stage's plan reaches it as an
event on its step queue, and the validator sends its own next steps there (an Aurora
validation creates an instance, waits, reads, deletes the instance and waits again: longer than
one Lambda invocation may run). Failed or aborted restore test jobs notify the topic.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stages.components.dead_letters import DeadLetters
from stages.components.restore_testing import RestoreTesting

RESTORE_EVENT = "Restore Job State Change"
# A step that keeps failing (after the validator's own error handling) is parked, not retried
# for ever: it lands in the stage's dead letters, which alarm.
MAX_RECEIVES = 5
# The longest a step may run: the validator's timeout, with room for retries to wait it out.
STEP_TIMEOUT = Duration.minutes(5)


class RestoreValidation(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        restore_testing: RestoreTesting,
        topic: sns.ITopic,
        dead_letters: DeadLetters,
    ) -> None:
        super().__init__(scope, construct_id)
        field = events.EventField.from_path
        plan = restore_testing.plan_arn
        self.step_queue = sqs.Queue(
            self,
            "StepQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # SQS's guidance for a Lambda event source: six times the function's timeout.
            visibility_timeout=Duration.seconds(STEP_TIMEOUT.to_seconds() * 6),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dead_letters.queue, max_receive_count=MAX_RECEIVES
            ),
        )
        # Every state change of this plan's jobs: the validator acts on COMPLETED and counts
        # FAILED and ABORTED as failed validations. (A CREATED event carries `state`, later
        # ones `status`; matching on the plan takes them all.)
        self.restore_jobs = events.Rule(
            self,
            "RestoreJobs",
            description="Restore test jobs of this stage's plan, to the restore validator",
            event_pattern=events.EventPattern(
                source=["aws.backup"],
                detail_type=[RESTORE_EVENT],
                detail={"restoreTestingPlanArn": [plan]},
            ),
            targets=[targets.SqsQueue(self.step_queue, dead_letter_queue=dead_letters.queue)],
        )
        self.job_failures = events.Rule(
            self,
            "RestoreJobFailures",
            description="Restore test jobs of this stage's plan that failed or were aborted",
            event_pattern=events.EventPattern(
                source=["aws.backup"],
                detail_type=[RESTORE_EVENT],
                detail={"restoreTestingPlanArn": [plan], "status": ["FAILED", "ABORTED"]},
            ),
            targets=[
                targets.SnsTopic(
                    topic,
                    dead_letter_queue=dead_letters.queue,
                    message=events.RuleTargetInput.from_text(
                        f"AWS Backup restore test job {field('$.detail.restoreJobId')} of "
                        f"{field('$.detail.sourceResourceArn')} is {field('$.detail.status')}: "
                        f"{field('$.detail.statusMessage')}"
                    ),
                )
            ],
        )
