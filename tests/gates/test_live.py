"""The live configuration (the repository's cdk.json, whatever an adopting team put in it)
through every gate: the CLI synthesizes it (cdk-nag and CDK's validation clean), cfn-lint is
clean on every template, and the invariants that must hold for ANY valid configuration hold.

Nothing here asserts an example value: behavioural tests use tests/support/fixed_config.json.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

import pytest

from config import AppConfig, StageConfig, load_config
from pipeline.bootstrap_policy import execution_policy, stage_accounts
from pipeline.post_deploy import POST_DEPLOY_ACTION
from stages.compliance import REPORT_FILE
from tests.support.live_run import LiveRun, StackArtifact
from tests.support.pipeline_view import actions, approval_problems, category, pipeline_stages
from tests.support.policy_coverage import uncovered
from tests.support.resource_kinds import NAME_PROPERTIES, REQUIRED_NAMES, STATEFUL_TYPES
from tests.support.synthesis import cdk_context
from tests.support.templates import as_list

pytestmark = pytest.mark.live

APPROVAL_CUSTOM_DATA_LIMIT = 500  # CodePipeline's limit on an approval's custom data
ACTION_CONFIGURATION_VALUE_LIMIT = 1000


@pytest.fixture(scope="module")
def config() -> AppConfig:
    return load_config(cdk_context())


@pytest.fixture(scope="module")
def stacks(live: LiveRun) -> dict[str, StackArtifact]:
    assert live.synth is not None and live.synth.returncode == 0, "the live synth failed"
    return live.stacks()


@pytest.fixture(scope="module")
def templates(stacks: dict[str, StackArtifact]) -> dict[str, dict[str, Any]]:
    return {name: artifact.template() for name, artifact in stacks.items()}


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template.get("Resources", {}).items() if v["Type"] == kind}


def _stage_templates(
    templates: dict[str, dict[str, Any]], stage: StageConfig
) -> dict[str, dict[str, Any]]:
    return {
        f"{stage.stage_id}-{s}": templates[f"{stage.stage_id}-{s}"] for s in ("Data", "Service")
    }


def test_the_cli_synthesizes_the_live_config(live: LiveRun) -> None:
    assert live.synth is not None, live.error
    output = (live.synth.stdout + live.synth.stderr)[-3000:]
    assert live.synth.returncode == 0, f"`cdk synth` failed:\n{output}"


def test_no_compliance_finding_in_the_live_assembly(live: LiveRun) -> None:
    report = live.outdir / REPORT_FILE
    assert report.exists(), "no validation report: were the cdk-nag packs registered?"
    for plugin in json.loads(report.read_text())["pluginReports"]:
        assert (plugin["conclusion"], plugin["violations"]) == ("success", []), plugin["pluginName"]


def test_cfn_lint_is_clean_on_every_live_template(live: LiveRun) -> None:
    assert live.lint is not None, live.error or "cfn-lint did not run"
    assert live.lint.returncode & ~14 == 0, live.lint.stderr[-2000:]
    findings = {name: found for name, found in live.lint_findings().items() if found}
    assert findings == {}


def test_every_stage_deploys_its_stacks_where_configured(
    config: AppConfig, stacks: dict[str, StackArtifact]
) -> None:
    expected = {"Pipeline"} | {
        f"{s.stage_id}-{k}" for s in config.stages for k in ("Data", "Service")
    }
    assert set(stacks) == expected
    assert (stacks["Pipeline"].account, stacks["Pipeline"].region) == (
        config.pipeline.account,
        config.pipeline.region,
    )
    for stage in config.stages:
        for kind in ("Data", "Service"):
            artifact = stacks[f"{stage.stage_id}-{kind}"]
            assert (artifact.account, artifact.region) == (stage.account, stage.region)


def test_retained_stages_keep_their_data(
    config: AppConfig, stacks: dict[str, StackArtifact], templates: dict[str, dict[str, Any]]
) -> None:
    for stage in config.stages:
        data = templates[f"{stage.stage_id}-Data"]
        kept = {"Retain", "RetainExceptOnCreate", "Snapshot"}
        for kind in STATEFUL_TYPES:
            for logical_id, resource in _resources(data, kind).items():
                policy = resource.get("DeletionPolicy", "Delete")
                if stage.retain_data:
                    assert policy in kept, (stage.name, logical_id, policy)
                    assert resource.get("UpdateReplacePolicy") in ("Retain", "Snapshot")
        assert stacks[f"{stage.stage_id}-Data"].termination_protection is stage.retain_data
        if stage.retain_data:
            for kind, flag in (
                ("AWS::RDS::DBCluster", "DeletionProtection"),
                ("AWS::DynamoDB::Table", "DeletionProtectionEnabled"),
            ):
                for resource in _resources(data, kind).values():
                    assert resource["Properties"].get(flag) is True, (stage.name, kind)


def test_stateful_resources_live_only_in_data_stacks(
    config: AppConfig, templates: dict[str, dict[str, Any]]
) -> None:
    for stage in config.stages:
        service = templates[f"{stage.stage_id}-Service"]
        for kind in STATEFUL_TYPES:
            assert _resources(service, kind) == {}, (stage.name, kind)


def test_no_physical_names_but_the_cross_account_roles(
    config: AppConfig, templates: dict[str, dict[str, Any]]
) -> None:
    pipeline = config.pipeline
    allowed = {
        name
        for stage in config.stages
        for name in (pipeline.post_deploy_role_name(stage), pipeline.test_runner_role_name(stage))
    }
    for stack_name, template in templates.items():
        for kind, name_property in NAME_PROPERTIES.items():
            for logical_id, resource in _resources(template, kind).items():
                name = resource.get("Properties", {}).get(name_property)
                assert name is None or name in allowed, f"{stack_name}/{logical_id}"


def test_required_names_are_unique_across_stages(
    config: AppConfig, templates: dict[str, dict[str, Any]]
) -> None:
    seen: dict[str, str] = {}
    for stage in config.stages:
        data = templates[f"{stage.stage_id}-Data"]
        for kind, name_of in REQUIRED_NAMES.items():
            for resource in _resources(data, kind).values():
                name = name_of(resource["Properties"])
                assert name not in seen, f"{kind} {name} in {stage.name} and {seen.get(name)}"
                seen[name] = stage.name


def test_each_runner_assumes_only_its_stages_role(
    config: AppConfig, templates: dict[str, dict[str, Any]]
) -> None:
    pipeline = templates["Pipeline"]
    assumed = [
        as_list(statement["Resource"])
        for policy in _resources(pipeline, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "sts:AssumeRole" in as_list(statement["Action"])
        and any(
            isinstance(r, str) and fnmatchcase(r, "*-post-deploy-test")
            for r in as_list(statement["Resource"])
        )
    ]
    expected = sorted([config.pipeline.post_deploy_role_arn(stage)] for stage in config.stages)
    assert sorted(assumed) == expected
    for stage in config.stages:
        service = templates[f"{stage.stage_id}-Service"]
        [role] = [
            r
            for r in _resources(service, "AWS::IAM::Role").values()
            if r["Properties"].get("RoleName") == config.pipeline.post_deploy_role_name(stage)
        ]
        assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"AWS": config.pipeline.test_runner_role_arn(stage)},
            }
        ]


def test_the_generated_execution_policy_covers_every_stack_and_role(
    config: AppConfig, templates: dict[str, dict[str, Any]]
) -> None:
    for account in stage_accounts(config):
        policy = execution_policy(config, account)
        for stage in (s for s in config.stages if s.account == account):
            assert uncovered(policy, stage, _stage_templates(templates, stage)) == [], stage.name


def test_the_pipeline_releases_the_stages_in_order_with_their_approvals(
    config: AppConfig, templates: dict[str, dict[str, Any]]
) -> None:
    pipeline = templates["Pipeline"]
    names = [stage["Name"] for stage in pipeline_stages(pipeline)]
    assert names == ["Source", "Build", "UpdatePipeline", "Assets"] + [
        stage.stage_id for stage in config.stages
    ]
    for stage in config.stages:
        assert approval_problems(pipeline, stage.stage_id, stage.needs_approval) == []
        assert POST_DEPLOY_ACTION in actions(pipeline, stage.stage_id)


def test_approval_messages_fit_once_their_variables_are_filled(
    templates: dict[str, dict[str, Any]],
) -> None:
    filled = {"CommitId": "0" * 40, "codepipeline.PipelineExecutionId": "0" * 36}
    for stage in pipeline_stages(templates["Pipeline"]):
        for action in stage["Actions"]:
            if category(action) != "Approval":
                continue
            text = re.sub(
                r"#\{([^}]*)\}",
                lambda m: next((v for k, v in filled.items() if m[1].endswith(k)), m[0]),
                action["Configuration"]["CustomData"],
            )
            assert len(text) <= APPROVAL_CUSTOM_DATA_LIMIT, (action["Name"], len(text))


def test_every_action_configuration_value_fits_codepipelines_limit(
    templates: dict[str, dict[str, Any]],
) -> None:
    """CodePipeline long refused an action configuration value over 1,000 characters (the
    post-deploy step's EnvironmentVariables grow fastest)."""
    for stage in pipeline_stages(templates["Pipeline"]):
        for action in stage["Actions"]:
            for key, value in action.get("Configuration", {}).items():
                text = value if isinstance(value, str) else json.dumps(value)
                assert len(text) <= ACTION_CONFIGURATION_VALUE_LIMIT, (action["Name"], key)


def test_artifacts_have_a_customer_managed_key_exactly_when_a_stage_is_elsewhere(
    config: AppConfig, templates: dict[str, dict[str, Any]]
) -> None:
    keys = [
        k for k in _resources(templates["Pipeline"], "AWS::KMS::Key") if k.startswith("Artifacts")
    ]
    cross_account = any(stage.account != config.pipeline.account for stage in config.stages)
    assert bool(keys) is cross_account
