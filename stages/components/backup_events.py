"""EventBridge rules that turn AWS Backup job events into notifications."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from stages.components.dead_letters import DeadLetters

# Backup job events carry `detail.state`; restore job events carry `detail.status`.
BACKUP_JOB_PROBLEM_STATES = ["FAILED", "ABORTED", "EXPIRED", "PARTIAL"]
RESTORE_JOB_TERMINAL_STATUSES = ["COMPLETED", "FAILED", "ABORTED"]


class BackupEvents(Construct):
    """Backup jobs are hourly per resource, so only jobs that went wrong notify.

    Jobs run as `release_test_role` (the release proof's on-demand jobs) do not: the pipeline
    step that started one reports how it ended, and a release must not page anyone.
    Restores are rare and someone is waiting on them, so every finished one notifies.
    Restore job events name no vault: the rule covers the stage's account and Region.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vault: backup.IBackupVault,
        topic: sns.ITopic,
        release_test_role: iam.IRole,
        dead_letters: DeadLetters,
    ) -> None:
        super().__init__(scope, construct_id)
        field = events.EventField.from_path
        self.backup_job_problems = events.Rule(
            self,
            "BackupJobProblems",
            description="Backup jobs into this stage's vault that failed or completed with issues",
            event_pattern=events.EventPattern(
                source=["aws.backup"],
                detail_type=["Backup Job State Change"],
                detail={
                    "backupVaultName": [vault.backup_vault_name],
                    # Every example event in AWS's EventBridge guide for a state this rule
                    # matches carries iamRoleArn (only CREATED's lacks it); an event without
                    # it would not match `anything-but`.
                    "iamRoleArn": [{"anything-but": [release_test_role.role_arn]}],
                    # The console's "Completed with issues" is COMPLETED with a status message.
                    # Not `exists`: that also matches an empty message, which AWS's own example
                    # events carry, and would report every successful job.
                    "$or": [
                        {"state": BACKUP_JOB_PROBLEM_STATES},
                        {"state": ["COMPLETED"], "statusMessage": [{"anything-but": [""]}]},
                    ],
                },
            ),
            targets=[
                targets.SnsTopic(
                    topic,
                    dead_letter_queue=dead_letters.queue,
                    message=events.RuleTargetInput.from_text(
                        f"AWS Backup job {field('$.detail.backupJobId')} for "
                        f"{field('$.detail.resourceArn')} is {field('$.detail.state')}: "
                        f"{field('$.detail.statusMessage')}"
                    ),
                )
            ],
        )
        self.restore_jobs = events.Rule(
            self,
            "RestoreJobs",
            description="AWS Backup restore jobs that finished",
            event_pattern=events.EventPattern(
                source=["aws.backup"],
                detail_type=["Restore Job State Change"],
                # Restore tests have their own rules (restore_validation.py): this one is for
                # the restores someone started and is waiting on.
                detail={
                    "status": RESTORE_JOB_TERMINAL_STATUSES,
                    "restoreTestingPlanArn": [{"exists": False}],
                },
            ),
            targets=[
                targets.SnsTopic(
                    topic,
                    dead_letter_queue=dead_letters.queue,
                    message=events.RuleTargetInput.from_text(
                        f"AWS Backup restore job {field('$.detail.restoreJobId')} is "
                        f"{field('$.detail.status')}: {field('$.detail.statusMessage')}"
                    ),
                )
            ],
        )

    def backup_job_problem_count(self) -> cloudwatch.Metric:
        """Jobs that went wrong, counted by the rule that matched them (AWS/Events)."""
        return cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name="TriggeredRules",
            dimensions_map={"RuleName": self.backup_job_problems.rule_name},
            statistic=cloudwatch.Stats.SUM,
            period=Duration.minutes(5),
            label="Backup jobs not completed",
        )
