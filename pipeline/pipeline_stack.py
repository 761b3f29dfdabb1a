"""The release pipeline: push to the release branch, test, dev, prove, approve, prod, prove."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Environment, Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
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
            cross_account=config.deploys_cross_account(tuple(stage.config for stage in stages)),
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
                            f"{config.repository}@{config.branch} commit "
                            f"{source.source_attribute('CommitId')}. Review the previous "
                            "stage's post-deploy test report before approving. Execution: "
                            "#{codepipeline.PipelineExecutionId}."
                        ),
                        notification_topic=self.notifications.topic,
                    )
                )
            self.pipeline.add_stage(stage, pre=pre, post=[tests.step])
        self.pipeline.build_pipeline()
        release_events = self.pipeline.pipeline.notify_on(
            "ReleaseEvents",
            self.notifications.topic,
            events=[
                codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED,
                codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_NEEDED,
                codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_FAILED,
            ],
        )
        # CodeStar Notifications checks at creation that it may publish to the topic; CDK adds
        # that topic policy statement but not the dependency, so the two would race.
        release_events.node.add_dependency(self.notifications.topic_policy)
        self._allow_codeconnections(config.connection_arn)
        acknowledge_pipeline_findings(self)

    def _allow_codeconnections(self, connection_arn: str) -> None:
        """CDK grants `codestar-connections:UseConnection`; IAM matches the action's prefix
        to the ARN's, and connections created since the rename are `codeconnections` ARNs."""
        service = connection_arn.split(":")[2]
        if service == "codestar-connections":
            return
        # The source action's role, created by CodePipeline under the pipeline's Source stage.
        source_stage = self.pipeline.pipeline.node.find_child("Source")
        roles = [node for node in source_stage.node.find_all() if isinstance(node, iam.Role)]
        if len(roles) != 1:
            raise RuntimeError(f"expected one source action role, found {len(roles)}")
        role = roles[0]
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=[f"{service}:UseConnection"], resources=[connection_arn])
        )
