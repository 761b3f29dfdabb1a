"""Whether a stage account's execution policy lets CloudFormation create what the stage's
templates hold: each resource's service, each role (by the name CloudFormation gives it, or
its fixed one), and each stack whose outputs a template reads."""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from config import StageConfig, partition
from tests.support.templates import as_list, walk

# CDK's custom resources are Lambda-backed; CDK's metadata resource needs nothing.
_CUSTOM_SERVICE = "lambda"
# The Service Authorization Reference lists it as a dependent action of ec2:CreateVpcEndpoint:
# an interface endpoint's private DNS is a private hosted zone associated with the VPC.
_PRIVATE_DNS = "route53:AssociateVPCWithHostedZone"


def allowed(policy: Mapping[str, Any], action: str, resource: str = "*") -> bool:
    return any(
        statement["Effect"] == "Allow"
        and any(fnmatchcase(action, a) for a in as_list(statement["Action"]))
        and any(fnmatchcase(resource, r) for r in as_list(statement["Resource"]))
        for statement in policy["Statement"]
    )


def uncovered(
    policy: Mapping[str, Any], stage: StageConfig, templates: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """What the policy would refuse, for one stage's templates (by stack name); empty when
    it covers everything."""
    problems: list[str] = []
    arn = f"arn:{partition(stage.region)}"
    for stack_name, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            kind: str = resource["Type"]
            if kind == "AWS::CDK::Metadata":
                continue
            service = _CUSTOM_SERVICE if kind.startswith("Custom::") else kind.split("::")[1]
            # IAM is allowed per role, below; policies attach to those roles.
            if service != "IAM" and not allowed(policy, f"{service.lower()}:CreateSomething"):
                problems.append(f"{stack_name}/{logical_id}: service {service.lower()}")
            private_dns = resource.get("Properties", {}).get("PrivateDnsEnabled")
            needs_dns = kind == "AWS::EC2::VPCEndpoint" and private_dns
            if needs_dns and not allowed(policy, _PRIVATE_DNS):
                problems.append(f"{stack_name}/{logical_id}: {_PRIVATE_DNS}")
            if kind == "AWS::IAM::Role":
                # CloudFormation names a role after its stack unless it has a fixed name.
                name = resource.get("Properties", {}).get("RoleName") or (
                    f"{stack_name}-{logical_id[:20]}-ABCDEF123456"
                )
                role = f"{arn}:iam::{stage.account}:role/{name}"
                if not allowed(policy, "iam:CreateRole", role):
                    problems.append(f"{stack_name}/{logical_id}: role {role}")
        for value in walk(template):
            if isinstance(value, dict) and "Fn::GetStackOutput" in value:
                read = value["Fn::GetStackOutput"]["StackName"]
                stack = (
                    f"{arn}:cloudformation:{stage.region}:{stage.account}:stack/{read}/"
                    "0a1b2c3d-0000-0000-0000-000000000000"
                )
                if not allowed(policy, "cloudformation:DescribeStacks", stack):
                    problems.append(f"{stack_name}: reads the outputs of {read}")
    return sorted(set(problems))
