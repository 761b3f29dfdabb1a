"""The release pipeline stack: order, gates, proof steps, self-mutation and least privilege."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

import app as cdk_app
from dr_cli.cleanup import Cleanup
from integration_tests.backup_job import DEFAULT_CALL_SECONDS
from integration_tests.health import INVOKE_SECONDS
from integration_tests.target import DEFAULT_SMOKE_TIMEOUT_SECONDS
from pipeline.artifacts import ArtifactStore
from pipeline.pipeline_stack import CHANGE_SET_NAME, NODE_VERSION, PYTHON_VERSION
from pipeline.post_deploy import (
    BACKUP_TIMEOUT,
    DRILL_STEP_TIMEOUT,
    DRILL_TIMEOUT,
    REPORT_DIR,
    REPORT_FILE,
    STEP_TIMEOUT,
)
from tests.support.pipeline_view import approval_problems
from tests.support.synthesis import ROOT, Synthesis, cdk_context
from tests.support.templates import as_list, logical_id, only, props, resources, template_json, walk


def _stages(pipeline_template: Template) -> list[dict[str, Any]]:
    _, pipeline = only(pipeline_template, "AWS::CodePipeline::Pipeline")
    stages: list[dict[str, Any]] = props(pipeline)["Stages"]
    return stages


def _actions(pipeline_template: Template, stage_name: str) -> dict[str, dict[str, Any]]:
    stage = next(s for s in _stages(pipeline_template) if s["Name"] == stage_name)
    return {action["Name"]: action for action in stage["Actions"]}


def _build_spec(pipeline_template: Template, project_logical_id: str) -> dict[str, Any]:
    project = resources(pipeline_template, "AWS::CodeBuild::Project")[project_logical_id]
    spec: dict[str, Any] = json.loads(props(project)["Source"]["BuildSpec"])
    return spec


def _project_of(action: dict[str, Any]) -> str:
    logical_id: str = action["Configuration"]["ProjectName"]["Ref"]
    return logical_id


def _category(action: dict[str, Any]) -> str:
    category: str = action["ActionTypeId"]["Category"]
    return category


def test_pipeline_is_v2_named_from_config(
    pipeline_template: Template, synthesis: Synthesis
) -> None:
    _, pipeline = only(pipeline_template, "AWS::CodePipeline::Pipeline")
    assert props(pipeline)["PipelineType"] == "V2"
    assert props(pipeline)["Name"] == synthesis.config.pipeline.name


def test_stages_run_source_build_selfmutate_assets_dev_then_prod(
    pipeline_template: Template,
) -> None:
    names = [stage["Name"] for stage in _stages(pipeline_template)]
    assert names == ["Source", "Build", "UpdatePipeline", "Assets", "Dev", "Prod"]


def test_source_is_the_configured_connection_branch(
    pipeline_template: Template, synthesis: Synthesis
) -> None:
    config = synthesis.config.pipeline
    [source] = _actions(pipeline_template, "Source").values()
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"] == {
        "ConnectionArn": config.connection_arn,
        "FullRepositoryId": config.repository,
        "BranchName": config.branch,
    }  # DetectChanges defaults to true: a push starts the pipeline


def test_synth_step_runs_lint_types_and_tests_before_synth(pipeline_template: Template) -> None:
    synth = _actions(pipeline_template, "Build")["Synth"]
    spec = _build_spec(pipeline_template, _project_of(synth))
    assert spec["phases"]["build"]["commands"] == ["make lint typecheck unit", "make synth"]
    assert spec["phases"]["install"]["runtime-versions"] == {
        "python": PYTHON_VERSION,
        "nodejs": NODE_VERSION,
    }
    assert (PYTHON_VERSION, NODE_VERSION) == ("3.11", "24")  # Node 20 is end-of-life
    assert spec["artifacts"]["base-directory"] == "cdk.out"


def test_synth_gate_make_targets_lint_typecheck_and_run_the_unit_tests() -> None:
    # What the synth step's `make lint typecheck unit` runs, as make itself expands it.
    dry_run = subprocess.run(
        ["make", "--dry-run", "--always-make", "lint", "typecheck", "unit"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for command in (
        ".venv/bin/ruff check .",
        ".venv/bin/ruff format --check .",
        ".venv/bin/mypy",
        ".venv/bin/python -m pytest tests --ignore=tests/adoption",
    ):
        assert f"\n{command}\n" in f"\n{dry_run}", command
    # The live synth, cdk-nag and cfn-lint run inside that pytest session (tests/gates/).


def test_self_mutation_deploys_the_pipeline_with_the_pinned_cli(
    pipeline_template: Template,
) -> None:
    mutate = _actions(pipeline_template, "UpdatePipeline")["SelfMutate"]
    spec = _build_spec(pipeline_template, _project_of(mutate))
    assert spec["phases"]["install"]["commands"] == [
        f"npm install -g aws-cdk@{cdk_app.pinned_tools().cdk_cli}"
    ]
    assert spec["phases"]["build"]["commands"] == [
        "cdk -a . deploy Pipeline --require-approval=never --verbose"
    ]


def test_assets_publish_in_one_action_with_the_pinned_cdk_assets(
    pipeline_template: Template, synthesis: Synthesis
) -> None:
    publish = _actions(pipeline_template, "Assets")
    assert list(publish) == ["FileAssets"]
    project = resources(pipeline_template, "AWS::CodeBuild::Project")[
        _project_of(publish["FileAssets"])
    ]
    # CDK Pipelines writes this build spec into the cloud assembly, next to the templates.
    spec = json.loads((synthesis.outdir / props(project)["Source"]["BuildSpec"]).read_text())
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["cdk-assets"]
    assert spec["phases"]["install"]["commands"] == [f"npm install -g cdk-assets@{pinned}"]


@pytest.mark.parametrize("stage_name", ["Dev", "Prod"])
def test_post_deploy_tests_run_after_the_stage_deploys(
    pipeline_template: Template, stage_name: str
) -> None:
    actions = _actions(pipeline_template, stage_name)
    deploys = [a["RunOrder"] for a in actions.values() if _category(a) == "Deploy"]
    assert len(deploys) == 4  # prepare + execute change set, Data then Service
    assert actions["PostDeployTests"]["RunOrder"] > max(deploys)


def test_prod_change_sets_are_approved_before_they_execute(
    pipeline_template: Template, synthesis: Synthesis
) -> None:
    template = template_json(pipeline_template)
    assert approval_problems(template, "Dev", needs_approval=False) == []
    assert approval_problems(template, "Prod", needs_approval=True) == []
    prod = _actions(pipeline_template, "Prod")
    order = [name for name, _ in sorted(prod.items(), key=lambda item: item[1]["RunOrder"])]
    assert order == [
        "Data.Prepare",
        "Data.ApproveData",
        "Data.Deploy",
        "Service.Prepare",
        "Service.ApproveService",
        "Service.Deploy",
        "PostDeployTests",
    ]
    topic_id = logical_id(synthesis.pipeline.notifications.topic)
    [source] = _actions(pipeline_template, "Source").values()
    for stack in ("Data", "Service"):
        approval = prod[f"{stack}.Approve{stack}"]
        assert approval["Configuration"]["NotificationArn"] == {"Ref": topic_id}
        comment = approval["Configuration"]["CustomData"]
        assert comment.startswith(f"Prod-{stack} in 666666666666/us-east-1: commit ")
        # The commit is the source action's variable: the namespace must exist on that action.
        assert f"commit #{{{source['Namespace']}.CommitId}}" in comment
        assert (
            f"aws cloudformation describe-change-set --stack-name Prod-{stack} "
            f"--change-set-name {CHANGE_SET_NAME} --region us-east-1"
        ) in comment


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_post_deploy_step_gets_the_stage_outputs_and_reports_junit(
    pipeline_template: Template, synthesis: Synthesis, stage: str
) -> None:
    config = synthesis.stages[stage].config
    stage_name = stage.capitalize()
    action = _actions(pipeline_template, stage_name)["PostDeployTests"]
    env = {
        v["name"]: v["value"] for v in json.loads(action["Configuration"]["EnvironmentVariables"])
    }
    stage_stacks = synthesis.stages[stage]
    data_id, service_id = stage_stacks.data.artifact_id, stage_stacks.service.artifact_id
    assert env == {
        "HEALTH_CHECK_FUNCTION_NAME": f"#{{{service_id}.HealthCheckFunctionName}}",
        "TABLE_ARN": f"#{{{data_id}.TableArn}}",
        "BACKUP_VAULT_NAME": f"#{{{data_id}.BackupVaultName}}",
        "BACKUP_ROLE_ARN": f"#{{{data_id}.BackupTestRoleArn}}",
        "POST_DEPLOY_ROLE_ARN": f"#{{{service_id}.PostDeployRoleArn}}",
    }
    project_id = _project_of(action)
    project = resources(pipeline_template, "AWS::CodeBuild::Project")[project_id]
    static_env = {
        v["Name"]: v["Value"] for v in props(project)["Environment"]["EnvironmentVariables"]
    }
    assert static_env == {
        "DR_TARGET": "env",
        "DR_STAGE": stage_name,
        "DR_REGION": config.region,
        "BACKUP_TEST": "true" if config.backup.test_on_release else "false",
        "BACKUP_RETENTION_DAYS": str(config.backup.on_demand_retention_days),
        "BACKUP_TIMEOUT_SECONDS": str(int(BACKUP_TIMEOUT.to_seconds())),
        "DRILL_ON_RELEASE": "true" if config.backup.drills_on_release else "false",
        "DRILL_TIMEOUT_SECONDS": str(int(DRILL_TIMEOUT.to_seconds())),
    }
    timeout = DRILL_STEP_TIMEOUT if config.backup.drills_on_release else STEP_TIMEOUT
    assert props(project)["TimeoutInMinutes"] == timeout.to_minutes()
    spec = _build_spec(pipeline_template, project_id)
    [command] = spec["phases"]["build"]["commands"]
    assert command.startswith("python -m pytest integration_tests ")
    assert f"--junitxml={REPORT_DIR}/{REPORT_FILE}" in command
    assert "-o junit_logging=system-out" in command  # the drill's report in the test report
    assert spec["reports"]["PostDeployTests"] == {
        "files": [REPORT_FILE],
        "base-directory": REPORT_DIR,
        "file-format": "JUNITXML",
    }


# One dr call: 3 attempts of a 10 s connect and a 30 s read (dr_cli.aws), and botocore's
# standard retry mode's backoff before each of the two retries (at most 20 s each).
DR_CALL_SECONDS = 3 * (10 + 30) + 2 * 20
# The step's install phase before the suite starts (pip installs pytest and boto3).
INSTALL_SECONDS = 5 * 60


def test_every_wait_of_the_post_deploy_step_ends_before_codebuild_stops_it() -> None:
    smoke = DEFAULT_SMOKE_TIMEOUT_SECONDS + INVOKE_SECONDS
    backup = BACKUP_TIMEOUT.to_seconds() + DEFAULT_CALL_SECONDS
    assert INSTALL_SECONDS + smoke + backup < STEP_TIMEOUT.to_seconds()
    # A wait may pass its bound by the one call it is in.
    wait = DR_CALL_SECONDS + DRILL_TIMEOUT.to_seconds()
    cleanup_wait = DR_CALL_SECONDS + Cleanup.bound_seconds
    setup = 3 * DR_CALL_SECONDS  # the two stacks' outputs, the recovery points
    # Start, the job, (the table) until it is ACTIVE, read; clean-up: the job's end, delete,
    # (the table) its deletion.
    table = setup + DR_CALL_SECONDS + 2 * wait + DR_CALL_SECONDS + 2 * cleanup_wait
    table += DR_CALL_SECONDS
    bucket = setup + DR_CALL_SECONDS + wait + DR_CALL_SECONDS + cleanup_wait + 3 * DR_CALL_SECONDS
    worst = INSTALL_SECONDS + smoke + backup + table + bucket
    assert worst < DRILL_STEP_TIMEOUT.to_seconds(), worst / 60


def _statements(template: Template) -> list[tuple[str, dict[str, Any]]]:
    return [
        (policy_id, statement)
        for policy_id, policy in resources(template, "AWS::IAM::Policy").items()
        for statement in props(policy)["PolicyDocument"]["Statement"]
    ]


def test_no_policy_allows_every_action_or_assume_role_on_anything(
    pipeline_template: Template,
) -> None:
    for policy_id, statement in _statements(pipeline_template):
        actions = as_list(statement["Action"])
        assert not [a for a in actions if a in ("*", "*:*") or a.endswith(":*")], policy_id
        if "sts:AssumeRole" in actions:
            assert "*" not in as_list(statement["Resource"]), policy_id


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_test_runner_may_assume_only_its_stage_post_deploy_role(
    pipeline_template: Template, synthesis: Synthesis, stage: str
) -> None:
    config = synthesis.config
    stage_config = synthesis.stages[stage].config
    runner = synthesis.pipeline.post_deploy[stage.capitalize()].role
    runner_id = logical_id(runner)
    role = resources(pipeline_template, "AWS::IAM::Role")[runner_id]
    assert props(role)["RoleName"] == config.pipeline.test_runner_role_name(stage_config)
    assume = [
        statement
        for _, statement in _statements(pipeline_template)
        if "sts:AssumeRole" in as_list(statement["Action"])
        and config.pipeline.post_deploy_role_arn(stage_config) in as_list(statement["Resource"])
    ]
    assert assume == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Resource": config.pipeline.post_deploy_role_arn(stage_config),
        }
    ]
    runner_policies = [
        props(p)["PolicyDocument"]["Statement"]
        for p in resources(pipeline_template, "AWS::IAM::Policy").values()
        if {"Ref": runner_id} in props(p)["Roles"]
    ]
    assumed = [
        s["Resource"] for doc in runner_policies for s in doc if s["Action"] == "sts:AssumeRole"
    ]
    assert assumed == [config.pipeline.post_deploy_role_arn(stage_config)]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_post_deploy_role_trusts_only_the_pipeline_runner_and_allows_exactly_the_proof(
    synthesis: Synthesis, stage: str
) -> None:
    config = synthesis.config
    stage_config = synthesis.stages[stage].config
    dr_stage = synthesis.stages[stage]
    template = synthesis.templates[f"{stage.capitalize()}-Service"]
    [(role_id, role)] = [
        (logical_id, role)
        for logical_id, role in resources(template, "AWS::IAM::Role").items()
        if props(role).get("RoleName") == config.pipeline.post_deploy_role_name(stage_config)
    ]
    assert props(role)["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": config.pipeline.test_runner_role_arn(stage_config)},
        }
    ]
    assert ":root" not in json.dumps(props(role)["AssumeRolePolicyDocument"])
    [policy] = [
        p
        for p in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in props(p)["Roles"]
    ]
    function_id = logical_id(dr_stage.service.health_check.function)
    statements = props(policy)["PolicyDocument"]["Statement"]
    by_action = {
        action: statement["Resource"]
        for statement in statements
        for action in as_list(statement["Action"])
    }
    proof = {
        "lambda:InvokeFunction",
        "backup:StartBackupJob",
        "backup:DescribeBackupJob",
        "backup:ListBackupJobs",
        "iam:PassRole",
    }
    drill = set(DRILL_RESOURCES) if stage_config.backup.drills_on_release else set()
    assert set(by_action) == proof | drill
    assert by_action["lambda:InvokeFunction"][0] == {"Fn::GetAtt": [function_id, "Arn"]}
    # No resource type exists in IAM for these two: they only read job status.
    assert by_action["backup:DescribeBackupJob"] == by_action["backup:ListBackupJobs"] == "*"
    data = dr_stage.data
    vault_id = logical_id(data.backup.vault)
    release_role_id = logical_id(data.backup.release_test_role)
    assert vault_id in json.dumps(by_action["backup:StartBackupJob"])
    assert release_role_id in json.dumps(by_action["iam:PassRole"])
    assert logical_id(data.backup.backup_role) not in json.dumps(by_action["iam:PassRole"])
    [pass_role] = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}
    }


# The release drill's actions (test_the_release_drill_may_touch_only_...: their resources).
DRILL_RESOURCES = {
    "cloudformation:DescribeStacks": "stacks",
    "backup:ListRecoveryPointsByResource": "*",
    "backup:DescribeRestoreJob": "*",
    "backup:StartRestoreJob": "recovery points",
    "dynamodb:DescribeTable": "table/dr-drill-{stage}-*",
    "dynamodb:GetItem": "table/dr-drill-{stage}-*",
    "dynamodb:DeleteTable": "table/dr-drill-{stage}-*",
    "s3:ListBucketVersions": "dr-drill-{stage}-*",
    "s3:DeleteBucket": "dr-drill-{stage}-*",
    "s3:GetObject": "dr-drill-{stage}-*/*",
    "s3:DeleteObject": "dr-drill-{stage}-*/*",
    "s3:DeleteObjectVersion": "dr-drill-{stage}-*/*",
    "kms:Decrypt": "data key",
}


def test_the_release_drill_may_touch_only_restored_resources_and_its_own_stage(
    synthesis: Synthesis,
) -> None:
    dr_stage = synthesis.stages["dev"]
    config = dr_stage.config
    assert config.backup.drills_on_release
    role = dr_stage.service.post_deploy.role
    template = synthesis.templates["Dev-Service"]
    [policy] = [
        p
        for p in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": logical_id(role)} in props(p)["Roles"]
    ]
    statements = props(policy)["PolicyDocument"]["Statement"]
    found = {
        action: as_list(statement["Resource"])
        for statement in statements
        for action in as_list(statement["Action"])
        if action in DRILL_RESOURCES
    }
    where = f"{config.region}:{config.account}"
    for action, kind in DRILL_RESOURCES.items():
        if "{stage}" in kind:
            service = action.split(":")[0]
            arn = (
                f"arn:aws:{service}:{where}:{kind}"
                if service == "dynamodb"
                else f"arn:aws:s3:::{kind}"
            )
            assert found[action] == [arn.format(stage="dev")], action
    assert found["backup:ListRecoveryPointsByResource"] == ["*"]
    assert found["backup:DescribeRestoreJob"] == ["*"]
    assert found["cloudformation:DescribeStacks"] == [
        f"arn:aws:cloudformation:{where}:stack/Dev-Data/*",
        f"arn:aws:cloudformation:{where}:stack/Dev-Service/*",
    ]
    assert found["backup:StartRestoreJob"] == [
        f"arn:aws:backup:{where}:recovery-point:*",
        f"arn:aws:dynamodb:{where}:table/*/backup/*",
    ]
    data = dr_stage.data
    [decrypt] = found["kms:Decrypt"]
    assert logical_id(data.keys.data) in json.dumps(decrypt)
    # The restore role is passed to AWS Backup only; the plans' backup role never.
    [pass_role] = [s for s in statements if s["Action"] == "iam:PassRole"]
    passed = json.dumps(pass_role["Resource"])
    assert logical_id(data.backup.restore_role) in passed
    assert logical_id(data.backup.backup_role) not in passed
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}
    }


def test_release_failures_notify_an_encrypted_topic(
    pipeline_template: Template, synthesis: Synthesis
) -> None:
    notifications = synthesis.pipeline.notifications
    topic_id = logical_id(notifications.topic)
    key_id = logical_id(notifications.key)
    _, rule = only(pipeline_template, "AWS::CodeStarNotifications::NotificationRule")
    assert props(rule)["Targets"] == [{"TargetAddress": {"Ref": topic_id}, "TargetType": "SNS"}]
    # Created only once the topic admits CodeStar Notifications (else a race at creation).
    [(policy_id, policy)] = resources(pipeline_template, "AWS::SNS::TopicPolicy").items()
    assert {"Ref": topic_id} in props(policy)["Topics"]
    assert policy_id in rule["DependsOn"]
    assert set(props(rule)["EventTypeIds"]) == {
        "codepipeline-pipeline-pipeline-execution-failed",
        "codepipeline-pipeline-manual-approval-needed",
        "codepipeline-pipeline-manual-approval-failed",
    }
    topic = resources(pipeline_template, "AWS::SNS::Topic")[topic_id]
    assert props(topic)["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    subscriptions = resources(pipeline_template, "AWS::SNS::Subscription").values()
    assert sorted(props(s)["Endpoint"] for s in subscriptions) == sorted(
        synthesis.config.pipeline.notification_emails
    )
    key = resources(pipeline_template, "AWS::KMS::Key")[key_id]
    principals = [s.get("Principal") for s in props(key)["KeyPolicy"]["Statement"]]
    assert {"Service": "codestar-notifications.amazonaws.com"} in principals
    assert props(rule)["Name"] == f"{synthesis.config.pipeline.name}-release-events"


def test_only_this_accounts_notification_rules_may_publish_to_the_release_topic(
    pipeline_template: Template, synthesis: Synthesis
) -> None:
    """Confused deputy: CodeStar Notifications' documented topic policy names the account
    (aws:SourceAccount); no statement admits the service without it."""
    [(_, policy)] = resources(pipeline_template, "AWS::SNS::TopicPolicy").items()
    allows = [
        statement
        for statement in props(policy)["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]
    assert allows == [
        {
            "Action": "sns:Publish",
            "Condition": {"StringEquals": {"aws:SourceAccount": "444444444444"}},
            "Effect": "Allow",
            "Principal": {"Service": "codestar-notifications.amazonaws.com"},
            "Resource": {"Ref": logical_id(synthesis.pipeline.notifications.topic)},
            "Sid": "CodeStarNotificationsOfThisAccount",
        }
    ]


def test_artifacts_are_encrypted_logged_and_readable_by_stage_deploy_roles(
    pipeline_template: Template, synthesis: Synthesis
) -> None:
    stack = synthesis.pipeline
    artifacts = stack.artifacts
    bucket_id = logical_id(artifacts.bucket)
    bucket = props(resources(pipeline_template, "AWS::S3::Bucket")[bucket_id])
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "LoggingConfiguration" in bucket
    assert artifacts.key is not None  # the example stages live in other accounts
    key_id = logical_id(artifacts.key)
    key_policy = json.dumps(props(resources(pipeline_template, "AWS::KMS::Key")[key_id]))
    for stage in synthesis.config.stages:
        assert f"iam::{stage.account}:role/cdk-hnb659fds-deploy-role-{stage.account}" in key_policy


def test_pipeline_has_no_docker_dependency(pipeline_template: Template) -> None:
    for project in resources(pipeline_template, "AWS::CodeBuild::Project").values():
        assert props(project)["Environment"].get("PrivilegedMode") in (None, False)
    assert not [
        v for v in walk(template_json(pipeline_template)) if isinstance(v, str) and "docker" in v
    ]


def test_same_account_artifacts_need_no_customer_managed_key() -> None:
    # The construct alone, in a throwaway stack: not another synthesis of the app.
    stack = Stack(App(context=cdk_context()), "SameAccount")
    ArtifactStore(stack, "Artifacts", cross_account=False)
    template = Template.from_stack(stack)
    assert resources(template, "AWS::KMS::Key") == {}
    bucket = props(resources(template, "AWS::S3::Bucket")[_bucket_id(stack)])
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert "LoggingConfiguration" in bucket


def _bucket_id(stack: Stack) -> str:
    store = stack.node.find_child("Artifacts")
    assert isinstance(store, ArtifactStore)
    return logical_id(store.bucket)


def test_source_may_use_the_connection_under_its_own_service_prefix(
    pipeline_template: Template, synthesis: Synthesis
) -> None:
    arn = synthesis.config.pipeline.connection_arn
    service = arn.split(":")[2]
    uses = [
        statement
        for _, statement in _statements(pipeline_template)
        if f"{service}:UseConnection" in as_list(statement["Action"])
    ]
    assert [statement["Resource"] for statement in uses] == [arn]
