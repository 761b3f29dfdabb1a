"""Findings accepted in the pipeline stack: CDK Pipelines' own roles, each on its narrowest scope.

The wildcards are CDK's grant action families on the one artifact bucket and key, and the
log groups and report groups of each CodeBuild project (named after the project).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_codebuild as codebuild
from constructs import IConstruct

from config import partition
from stages.compliance import acknowledge, logical_id

if TYPE_CHECKING:
    from pipeline.pipeline_stack import PipelineStack

_ARTIFACT_ACTION_FAMILIES = (
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
    "s3:Abort*",
    "s3:DeleteObject*",
    "s3:GetBucket*",
    "s3:GetObject*",
    "s3:List*",
)


def acknowledge_pipeline_findings(stack: PipelineStack) -> None:
    bucket = stack.artifacts.bucket
    artifact_reason = (
        "CDK's grants on the pipeline's artifact bucket and key and the release topic's key "
        "(exact ARNs): action families and the object wildcard move artifacts between actions."
    )
    artifact_rules = (
        *(f"IAM5[Action::{action}]" for action in _ARTIFACT_ACTION_FAMILIES),
        f"IAM5[Resource::<{logical_id(bucket)}.Arn>/*]",
    )
    acknowledge(stack.pipeline, artifact_reason, *artifact_rules)
    for tests in stack.post_deploy.values():
        acknowledge(tests.role, artifact_reason, *artifact_rules)

    arn_prefix = f"arn:{partition(stack.region)}:%s:{stack.region}:{stack.account}"
    for project in _projects(stack):
        if stack.artifacts.key is None:
            acknowledge(
                project,
                "Every stage deploys in the pipeline's own account: build artifacts stay in "
                "this account's SSE-S3 artifact bucket, which only this pipeline's roles read. "
                "A stage in another account switches the pipeline to a customer managed key "
                "(pipeline/artifacts.py), as cross-account readers need one.",
                "CB4",
            )
        if project.role is None:
            continue
        name = f"<{logical_id(project)}>"
        acknowledge(
            project.role,
            "CodeBuild writes its logs and test reports to groups named after the project; "
            "CDK scopes them to this project's name prefix.",
            f"IAM5[Resource::{arn_prefix % 'codebuild'}:report-group/{name}-*]",
            f"IAM5[Resource::{arn_prefix % 'logs'}:log-group:/aws/codebuild/{name}:*]",
        )

    assets = stack.pipeline.node.find_child("Assets")
    acknowledge(
        assets,
        "CDK Pipelines' asset publishing role runs publish steps in CodeBuild projects it "
        "creates (codebuild:StartBuild/BatchGetBuilds/StopBuild do not support tag-free "
        "scoping before the projects exist) and writes their logs and reports.",
        "IAM5[Resource::*]",
        f"IAM5[Resource::{arn_prefix % 'codebuild'}:report-group/*]",
        f"IAM5[Resource::{arn_prefix % 'logs'}:log-group:/aws/codebuild/*]",
    )
    self_mutation = stack.pipeline.node.find_child("UpdatePipeline")
    acknowledge(
        self_mutation,
        "Self-mutation deploys this stack with the CDK bootstrap roles: sts:AssumeRole is "
        "limited to roles tagged as bootstrap deploy/publishing roles in this account, and "
        "cloudformation:DescribeStacks cannot be scoped before the stack names are known.",
        "IAM5[Resource::*]",
        f"IAM5[Resource::arn:*:iam::{stack.account}:role/*]",
    )


def _projects(root: IConstruct) -> list[codebuild.Project]:
    return [node for node in root.node.find_all() if isinstance(node, codebuild.Project)]
