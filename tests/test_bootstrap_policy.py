"""The CloudFormation execution policy the README tells stage accounts to bootstrap with."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

from tests.conftest import ROOT, STAGE_STACK_NAMES, Synthesis, as_list, props, resources, walk

POLICY = ROOT / "bootstrap" / "stage-execution-policy.json"
# CDK's custom resources are Lambda-backed; CDK's metadata resource needs nothing.
_CUSTOM_SERVICE = "lambda"


STATEMENTS: list[dict[str, Any]] = json.loads(POLICY.read_text())["Statement"]


def _allowed(action: str, resource: str = "*") -> bool:
    return any(
        any(fnmatchcase(action, a) for a in as_list(statement["Action"]))
        and any(fnmatchcase(resource, r) for r in as_list(statement["Resource"]))
        for statement in STATEMENTS
    )


def test_every_service_the_stage_deploys_is_allowed(synthesis: Synthesis) -> None:
    services = set()
    for name in STAGE_STACK_NAMES:
        for resource in synthesis.templates[name].to_json()["Resources"].values():
            kind: str = resource["Type"]
            if kind == "AWS::CDK::Metadata":
                continue
            services.add(
                _CUSTOM_SERVICE if kind.startswith("Custom::") else kind.split("::")[1].lower()
            )
    assert services, "no resources found"
    for service in sorted(services - {"iam"}):
        assert _allowed(f"{service}:CreateSomething"), service


def test_iam_is_limited_to_the_stage_roles(synthesis: Synthesis) -> None:
    assert not _allowed("iam:CreateRole", "arn:aws:iam::222222222222:role/Administrator")
    assert not _allowed("iam:CreateUser", "arn:aws:iam::222222222222:user/anyone")
    pipeline = synthesis.config.pipeline
    for stage in synthesis.config.stages:
        account = stage.account
        # CloudFormation names a role after its stack, e.g. Dev-Service-HealthCheckRole-XYZ.
        for stack_name in STAGE_STACK_NAMES:
            if stack_name.lower().startswith(stage.name):
                role = f"arn:aws:iam::{account}:role/{stack_name}-SomeRole-ABC123"
                assert _allowed("iam:CreateRole", role), role
        assert _allowed("iam:CreateRole", pipeline.post_deploy_role_arn(stage))


def test_fixed_role_names_fit_the_policy(synthesis: Synthesis) -> None:
    for name in STAGE_STACK_NAMES:
        for role in resources(synthesis.templates[name], "AWS::IAM::Role").values():
            role_name = props(role).get("RoleName")
            if role_name is not None:
                assert _allowed("iam:CreateRole", f"arn:aws:iam::123456789012:role/{role_name}")


def test_stacks_may_read_the_outputs_they_reference(synthesis: Synthesis) -> None:
    """`Fn::GetStackOutput` reads the other stack with the deploying stack's execution role."""
    referenced = set()
    for name in STAGE_STACK_NAMES:
        for value in walk(synthesis.templates[name].to_json()):
            if isinstance(value, dict) and "Fn::GetStackOutput" in value:
                referenced.add(value["Fn::GetStackOutput"]["StackName"])
    assert referenced == {"Dev-Data", "Prod-Data"}
    for stack_name in referenced:
        stage = next(s for s in synthesis.config.stages if stack_name.lower().startswith(s.name))
        arn = (
            f"arn:aws:cloudformation:{stage.region}:{stage.account}:stack/{stack_name}/"
            "0a1b2c3d-0000-0000-0000-000000000000"
        )
        assert _allowed("cloudformation:DescribeStacks", arn), stack_name
    assert not _allowed(
        "cloudformation:DescribeStacks", "arn:aws:cloudformation:us-east-1:1:stack/Other/x"
    )
