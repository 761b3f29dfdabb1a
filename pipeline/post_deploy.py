"""Post-deploy proof: the project's integration tests against a freshly deployed DR stage."""

from __future__ import annotations

from aws_cdk import Duration, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from constructs import Construct

from config import PipelineConfig
from pipeline.artifacts import ARTIFACT_REASON, ArtifactStore, artifact_findings
from stages.compliance import accept_inline_grants, acknowledge
from stages.dr_stage import DrStage

# CodeBuild stops the step at its timeout; every wait inside gives up (and says why) before.
# Without the drill: the smoke poll (5 min and a call) and the backup job (45 min and a call).
STEP_TIMEOUT = Duration.minutes(60)
BACKUP_TIMEOUT = Duration.minutes(45)
# With the drill: each store's restore waits (DRILL_TIMEOUT each: the job, then the table
# until ACTIVE), its read, and its clean-up (dr's bound per wait, 30 min: the restore job's
# end, then the table's deletion), after the above.
# README "The drill in the release" has the sum; a test keeps it under the step's timeout.
DRILL_TIMEOUT = Duration.minutes(40)
DRILL_STEP_TIMEOUT = Duration.minutes(360)
REPORT_DIR = "reports"
REPORT_FILE = "post-deploy.xml"
# The post-deploy step's action name in each stage of the pipeline.
POST_DEPLOY_ACTION = "PostDeployTests"


class PostDeployTests(Construct):
    """The CodeBuild step for one stage, and the role it runs as.

    The runner role has a fixed name because the stage's post-deploy role, in the stage's
    account, trusts exactly this ARN; it may assume only that one role.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: DrStage,
        pipeline: PipelineConfig,
        source: pipelines.IFileSetProducer,
        artifacts: ArtifactStore,
    ) -> None:
        super().__init__(scope, construct_id)
        config = stage.config
        self.role = iam.Role(
            self,
            "RunnerRole",
            role_name=pipeline.test_runner_role_name(config),
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description=f"Runs the post-deploy tests of the {config.name} stage",
        )
        # CDK Pipelines grants the step's role the source artifact when it builds the pipeline.
        acknowledge(self.role, ARTIFACT_REASON, *artifact_findings(artifacts))
        accept_inline_grants(self.role)
        outputs = stage.outputs
        self.step = pipelines.CodeBuildStep(
            POST_DEPLOY_ACTION,
            input=source,
            role=self.role,
            role_policy_statements=[
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    resources=[pipeline.post_deploy_role_arn(config)],
                )
            ],
            timeout=DRILL_STEP_TIMEOUT if config.backup.drills_on_release else STEP_TIMEOUT,
            install_commands=[
                "python -m pip install --quiet --disable-pip-version-check "
                "-r integration_tests/requirements.txt -c constraints.txt"
            ],
            commands=[
                # junit_logging: each case's output (the drill's report) in the test report.
                "python -m pytest integration_tests -p no:cacheprovider "
                f"-o junit_logging=system-out --junitxml={REPORT_DIR}/{REPORT_FILE}"
            ],
            env={
                "DR_TARGET": "env",
                "DR_STAGE": stage.stage_name,
                # CodeBuild's AWS_REGION is the pipeline's; the stage may be elsewhere.
                "DR_REGION": config.region,
                "BACKUP_TEST": "true" if config.backup.test_on_release else "false",
                "BACKUP_RETENTION_DAYS": str(config.backup.on_demand_retention_days),
                "BACKUP_TIMEOUT_SECONDS": str(int(BACKUP_TIMEOUT.to_seconds())),
                "DRILL_ON_RELEASE": "true" if config.backup.drills_on_release else "false",
                "DRILL_TIMEOUT_SECONDS": str(int(DRILL_TIMEOUT.to_seconds())),
            },
            env_from_cfn_outputs={
                "HEALTH_CHECK_FUNCTION_NAME": outputs.health_check_function_name,
                "TABLE_ARN": outputs.table_arn,
                "BACKUP_VAULT_NAME": outputs.backup_vault_name,
                # The role the release's job runs as: its own, whose events no alarm counts.
                "BACKUP_ROLE_ARN": outputs.backup_test_role_arn,
                "POST_DEPLOY_ROLE_ARN": outputs.post_deploy_role_arn,
            },
            partial_build_spec=codebuild.BuildSpec.from_object(
                {
                    "reports": {
                        "PostDeployTests": {
                            "files": [REPORT_FILE],
                            "base-directory": REPORT_DIR,
                            "file-format": "JUNITXML",
                        }
                    }
                }
            ),
        )
