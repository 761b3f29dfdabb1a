"""The role the pipeline's post-deploy tests assume in the stage's account, and nothing more."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from constructs import Construct

from stages.compliance import accept_inline_grants, acknowledge, logical_id
from stages.components.backup import Backup
from stages.components.health_check import HealthCheck


class PostDeployAccess(Construct):
    """Least privilege for proving a deployed stage works.

    Allowed exactly: invoke the health check, start backup jobs into the stage's vault (passing
    only the release's own backup role to AWS Backup, not the plans'), read those jobs, and list
    backup jobs (to wait until the table's plan job is over). Trusted only by the pipeline
    account's test-runner role for this stage, by its ARN: not the account root.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        test_runner_arn: str,
        health_check: HealthCheck,
        backup: Backup,
    ) -> None:
        super().__init__(scope, construct_id)
        # A fixed name, because the pipeline account's runner may assume only this exact ARN.
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.ArnPrincipal(test_runner_arn),
            description="Post-deploy tests: invoke the health check, run an on-demand backup",
            max_session_duration=Duration.hours(1),
        )
        health_check.function.grant_invoke(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["backup:StartBackupJob"], resources=[backup.vault.backup_vault_arn]
            )
        )
        # DescribeBackupJob and ListBackupJobs have no resource type in IAM: neither can be
        # scoped to a vault or a table. Both only read job status.
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["backup:DescribeBackupJob"], resources=["*"])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["backup:ListBackupJobs"], resources=["*"])
        )
        # grant_pass_role takes no condition: this role may hand the release's backup role to
        # AWS Backup only, the one service its jobs run in. Its jobs' events are the ones the
        # stage's BackupJobProblems rule leaves out, so it must not pass the plans' role.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[backup.release_test_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}},
            )
        )
        acknowledge(
            self.role,
            "backup:DescribeBackupJob and backup:ListBackupJobs have no resource type in IAM, "
            "so they cannot name a vault or a table; they only read job status (with the "
            "release drill also ListRecoveryPointsByResource and DescribeRestoreJob, which "
            "have none either and only read). The function's ':*' is CDK's grant_invoke for "
            "that one function's versions and aliases.",
            "AwsSolutions-IAM5[Resource::*]",
            f"AwsSolutions-IAM5[Resource::<{logical_id(health_check.function)}.Arn>:*]",
        )
        accept_inline_grants(self.role)
