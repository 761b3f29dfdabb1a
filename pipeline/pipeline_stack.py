"""The release pipeline: push to the release branch, test, dev, prove, approve, prod, prove."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Environment, Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from constructs import Construct

from pipeline.artifacts import ArtifactStore
from pipeline.compliance import acknowledge_pipeline_findings
from pipeline.notifications import ReleaseNotifications
from pipeline.post_deploy import PostDeployTests
from stages.config import PipelineConfig
from stages.dr_stage import DrStage

# The versions the project is tested with on developer machines and in CI.
PYTHON_VERSION = "3.11"
NODE_VERSION = "20"
# The gate before anything deploys: the same lint, type check and tests (cfn-lint and cdk-nag
# included) as `make test`, then the synth; `make` installs the pinned Python deps and CLI.
SYNTH_COMMANDS = ("make lint typecheck unit", "make synth")


class PipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        stages: Sequence[DrStage],
        cli_version: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.region),
            description="Self-mutating release pipeline of the DR stages",
            termination_protection=True,
            **kwargs,
        )
        self.notifications = ReleaseNotifications(
            self, "Notifications", emails=config.notification_emails
        )
        self.artifacts = ArtifactStore(
            self,
            "Artifacts",
            cross_account=any(stage.config.account != config.account for stage in stages),
        )
        source = pipelines.CodePipelineSource.connection(
            config.repository, config.branch, connection_arn=config.connection_arn
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=config.name,
            pipeline_type=codepipeline.PipelineType.V2,
            # With a stage in another account, its key lets that account's deploy role read.
            artifact_bucket=self.artifacts.bucket,
            synth=pipelines.ShellStep(
                "Synth",
                input=source,
                commands=list(SYNTH_COMMANDS),
                primary_output_directory="cdk.out",
            ),
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=codebuild.LinuxBuildImage.STANDARD_7_0
                ),
                partial_build_spec=codebuild.BuildSpec.from_object(
                    {
                        "phases": {
                            "install": {
                                "runtime-versions": {
                                    "python": PYTHON_VERSION,
                                    "nodejs": NODE_VERSION,
                                }
                            }
                        }
                    }
                ),
            ),
            self_mutation=True,
            cli_version=cli_version,
            publish_assets_in_parallel=False,
            docker_enabled_for_synth=False,
        )
        self.post_deploy: dict[str, PostDeployTests] = {}
        for index, stage in enumerate(stages):
            tests = PostDeployTests(
                self, f"{stage.stage_name}Tests", stage=stage, pipeline=config, source=source
            )
            self.post_deploy[stage.stage_name] = tests
            # Every stage after the first waits for a person who sees what is promoted.
            pre: list[pipelines.Step] = []
            if index > 0:
                pre.append(
                    pipelines.ManualApprovalStep(
                        f"PromoteTo{stage.stage_name}",
                        comment=(
                            f"Promote to {stage.stage_name} ({stage.config.account}, "
                            f"{stage.config.region}) the commit that "
                            f"{stages[index - 1].stage_name} just proved: "
                            f"{config.repository}@{config.branch}. Review the previous "
                            "stage's post-deploy test report before approving. Execution: "
                            "#{codepipeline.PipelineExecutionId}."
                        ),
                        notification_topic=self.notifications.topic,
                    )
                )
            self.pipeline.add_stage(stage, pre=pre, post=[tests.step])
        self.pipeline.build_pipeline()
        self.pipeline.pipeline.notify_on(
            "ReleaseEvents",
            self.notifications.topic,
            events=[
                codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED,
                codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_NEEDED,
                codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_FAILED,
            ],
        )
        acknowledge_pipeline_findings(self)
