"""The release pipeline: push to the release branch, test, then each stage in order: (approve its
change sets,) deploy, prove."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Environment, Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_iam as iam
from constructs import Construct

from config import PipelineConfig, partition
from pipeline.artifacts import ARTIFACT_REASON, ArtifactStore, artifact_findings
from pipeline.notifications import ReleaseNotifications
from pipeline.post_deploy import PostDeployTests
from stages.compliance import accept_inline_grants, acknowledge, logical_id
from stages.dr_stage import DrStage

# The versions the pipeline's CodeBuild steps use: the Python the project is tested with, and a
# Node.js that is not end-of-life and that the pinned CDK CLI and jsii support (Node 20, which
# developer machines may still run, reached its end of life on 2026-04-30). The image offers both.
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
PYTHON_VERSION = "3.11"
NODE_VERSION = "24"
# The gate before anything deploys: the same lint, type check and tests (the live config's
# synth, cdk-nag and cfn-lint included) as `make test`, then the synth; `make` installs the
# pinned Python deps and CLI.
SYNTH_COMMANDS = ("make lint typecheck unit", "make synth")
# What the release topic hears: a failed release, an approval waiting, an approval rejected.
RELEASE_EVENTS = (
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-manual-approval-needed",
    "codepipeline-pipeline-manual-approval-failed",
)
# CDK Pipelines names every change set it creates so.
CHANGE_SET_NAME = "PipelineChange"


@dataclass(frozen=True)
class ToolVersions:
    """The npm packages the pipeline installs, pinned in package.json like the local CLI."""

    cdk_cli: str
    cdk_assets: str


class PipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        stages: Sequence[DrStage],
        tools: ToolVersions,
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
        self.config = config
        self.notifications = ReleaseNotifications(
            self, "Notifications", emails=config.notification_emails
        )
        self.artifacts = ArtifactStore(
            self,
            "Artifacts",
            cross_account=any(stage.config.account != config.account for stage in stages),
        )
        self.source = pipelines.CodePipelineSource.connection(
            config.repository, config.branch, connection_arn=config.connection_arn
        )
        self.pipeline = self._build_pipeline(tools)
        self.post_deploy: dict[str, PostDeployTests] = {}
        for stage in stages:
            self._add_stage(stage)
        self.pipeline.build_pipeline()
        self._notify_release_events()
        self._allow_codeconnections(config.connection_arn)
        self._acknowledge_cdk_pipelines_findings()

    def _build_pipeline(self, tools: ToolVersions) -> pipelines.CodePipeline:
        return pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=self.config.name,
            pipeline_type=codepipeline.PipelineType.V2,
            # With a stage in another account, its key lets that account's deploy role read.
            artifact_bucket=self.artifacts.bucket,
            synth=pipelines.ShellStep(
                "Synth",
                input=self.source,
                commands=list(SYNTH_COMMANDS),
                primary_output_directory="cdk.out",
            ),
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE),
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
            cli_version=tools.cdk_cli,
            cdk_assets_cli_version=tools.cdk_assets,
            publish_assets_in_parallel=False,
            docker_enabled_for_synth=False,
        )

    def _add_stage(self, stage: DrStage) -> None:
        """The stage's stacks in order (CDK Pipelines: Data, then Service, which reads Data's
        outputs), then its proof. A stage that needs a person gets one approval per stack,
        after the stack's change set is created and before it executes: Service's change set
        can only be created once Data's has executed."""
        tests = PostDeployTests(
            self,
            f"{stage.stage_name}Tests",
            stage=stage,
            pipeline=self.config,
            source=self.source,
            artifacts=self.artifacts,
        )
        self.post_deploy[stage.stage_name] = tests
        stack_steps = []
        if stage.config.needs_approval:
            stack_steps = [
                pipelines.StackSteps(stack=stack, change_set=[self._approval(stage, stack)])
                for stack in (stage.data, stage.service)
            ]
        self.pipeline.add_stage(stage, stack_steps=stack_steps, post=[tests.step])

    def _approval(self, stage: DrStage, stack: Stack) -> pipelines.ManualApprovalStep:
        config, name = stage.config, stack.stack_name
        # Within CodePipeline's 500 characters for an approval's custom data.
        return pipelines.ManualApprovalStep(
            f"Approve{stack.node.id}",
            comment=(
                f"{name} in {config.account}/{config.region}: commit "
                f"{self.source.source_attribute('CommitId')} of {self.config.repository}@"
                f"{self.config.branch}. Read change set {CHANGE_SET_NAME} first: "
                f"aws cloudformation describe-change-set --stack-name {name} "
                f"--change-set-name {CHANGE_SET_NAME} --region {config.region} (or the "
                f"CloudFormation console, stack {name}, Change sets). Execution "
                "#{codepipeline.PipelineExecutionId}."
            ),
            notification_topic=self.notifications.topic,
        )

    def _notify_release_events(self) -> None:
        """CodeStar Notifications to the release topic. The L1 rule, not `notify_on`, whose
        binding adds an unconditioned topic policy statement: the topic's own statement admits
        only this account's rules."""
        release_events = notifications.CfnNotificationRule(
            self,
            "ReleaseNotificationRule",
            # Required, unique in the account and Region: the pipeline's own name is.
            name=f"{self.config.name}-release-events",
            detail_type="FULL",
            event_type_ids=list(RELEASE_EVENTS),
            resource=self.pipeline.pipeline.pipeline_arn,
            targets=[
                notifications.CfnNotificationRule.TargetProperty(
                    target_type="SNS", target_address=self.notifications.topic.topic_arn
                )
            ],
        )
        # CodeStar Notifications checks at creation that it may publish to the topic, so the
        # rule waits for the topic policy (else a race: aws-cdk#29484).
        release_events.node.add_dependency(self.notifications.topic_policy)

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

    def _acknowledge_cdk_pipelines_findings(self) -> None:
        """CDK Pipelines' own roles, each on its narrowest scope: the wildcards are CDK's
        grant action families on the one artifact bucket and key, and the log and report
        groups of each CodeBuild project (named after the project)."""
        acknowledge(self.pipeline, ARTIFACT_REASON, *artifact_findings(self.artifacts))
        # CDK Pipelines' own roles (pipeline, source, synth, self-mutation, assets, approvals).
        accept_inline_grants(self.pipeline)
        arn_prefix = f"arn:{partition(self.region)}:%s:{self.region}:{self.account}"
        projects = [n for n in self.node.find_all() if isinstance(n, codebuild.Project)]
        for project in projects:
            if self.artifacts.key is None:
                acknowledge(
                    project,
                    "Every stage deploys in the pipeline's own account: build artifacts stay in "
                    "this account's SSE-S3 artifact bucket, which only this pipeline's roles "
                    "read. A stage in another account switches the pipeline to a customer "
                    "managed key (pipeline/artifacts.py), as cross-account readers need one.",
                    "AwsSolutions-CB4",
                )
            if project.role is None:
                continue
            name = f"<{logical_id(project)}>"
            reports = f"{arn_prefix % 'codebuild'}:report-group/{name}-*"
            logs = f"{arn_prefix % 'logs'}:log-group:/aws/codebuild/{name}:*"
            acknowledge(
                project.role,
                "CodeBuild writes its logs and test reports to groups named after the project; "
                "CDK scopes them to this project's name prefix.",
                f"AwsSolutions-IAM5[Resource::{reports}]",
                f"AwsSolutions-IAM5[Resource::{logs}]",
            )
        acknowledge(
            self.pipeline.node.find_child("Assets"),
            "CDK Pipelines' asset publishing role runs publish steps in CodeBuild projects it "
            "creates (codebuild:StartBuild/BatchGetBuilds/StopBuild do not support tag-free "
            "scoping before the projects exist) and writes their logs and reports.",
            "AwsSolutions-IAM5[Resource::*]",
            f"AwsSolutions-IAM5[Resource::{arn_prefix % 'codebuild'}:report-group/*]",
            f"AwsSolutions-IAM5[Resource::{arn_prefix % 'logs'}:log-group:/aws/codebuild/*]",
        )
        acknowledge(
            self.pipeline.node.find_child("UpdatePipeline"),
            "Self-mutation deploys this stack with the CDK bootstrap roles: sts:AssumeRole is "
            "limited to roles tagged as bootstrap deploy/publishing roles in this account, and "
            "cloudformation:DescribeStacks cannot be scoped before the stack names are known.",
            "AwsSolutions-IAM5[Resource::*]",
            f"AwsSolutions-IAM5[Resource::arn:*:iam::{self.account}:role/*]",
        )
