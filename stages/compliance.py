"""cdk-nag gates: registration on a Stage, accepting a finding (each construct accepts its own),
and reading the report.

The CDK CLI tells the app not to fail synth on validation errors (it only writes them to the
assembly's validation report), so `app.py` and the tests fail on any reported violation:
cdk-nag's, and the warnings of CDK's built-in CloudFormation validation.
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Acknowledgment, CfnElement, CfnResource, Stack, Stage, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from constructs import IConstruct

REPORT_FILE = "validation-report.json"

# Managed policies as cdk-nag names them in finding ids.
MANAGED_POLICY = "arn:<AWS::Partition>:iam::aws:policy/{}"
# CDK's KMS grants add these action families, always on one exact key ARN.
KMS_FAMILIES = ("kms:GenerateDataKey*", "kms:ReEncrypt*")
PACKS = ("AwsSolutions", "NIST.800.53.R5")


def register_checks(stage: Stage) -> None:
    # Each DR Stage registers, and the App does for the pipeline stack, so neither relies on
    # how far a pack looks. Measured with CDK 2.275 and cdk-nag 3.0.2: CDK hands every pack
    # the whole App, so each finding appears once per pack in the report; `violations()`
    # lists it once.
    Validations.of(stage).add_plugins(AwsSolutionsChecks(stage), NIST80053R5Checks(stage))


def acknowledge(construct: IConstruct, reason: str, *finding_ids: str) -> None:
    """Accept findings on the narrowest construct, with the reason. Called by the construct
    that creates what they excuse; `finding_ids` are cdk-nag's full ids, e.g.
    `AwsSolutions-IAM5[Action::kms:ReEncrypt*]`."""
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=finding, reason=reason) for finding in finding_ids)
    )


INLINE_GRANTS = "NIST.800.53.R5-IAMNoInlinePolicy"
INLINE_GRANTS_REASON = (
    "CDK's grants go into a policy attached to this one role, each statement scoped to the "
    "exact resources it needs; a customer managed policy would add an object to review and "
    "could be attached elsewhere, without narrowing anything."
)


def accept_inline_grants(*constructs: IConstruct) -> None:
    """The roles under `constructs` hold their grants in their own (CDK default) policy."""
    for construct in constructs:
        acknowledge(construct, INLINE_GRANTS_REASON, INLINE_GRANTS)


def accept_sse_s3_for_access_logs(bucket: IConstruct) -> None:
    """An access-log bucket: S3 cannot deliver server access logs to an SSE-KMS bucket."""
    acknowledge(
        bucket,
        "S3 delivers server access logs only to buckets with SSE-S3 default encryption, not "
        "SSE-KMS (S3 user guide, server access logging).",
        "NIST.800.53.R5-S3DefaultEncryptionKMS",
    )


def logical_id(construct: IConstruct) -> str:
    resource = construct.node.default_child
    assert isinstance(resource, CfnElement)
    return Stack.of(construct).get_logical_id(resource)


def accept_literal_availability_zones(*constructs: IConstruct) -> None:
    """CDK's built-in validation and cfn-lint (W3010) warn about literal AZs. Ours are
    deliberate: synth does no lookups, and the config checks each AZ is in the Region. The
    warning is accepted on these constructs and cfn-lint's on their AZ-bearing resources."""
    reason = "Explicit AZs from validated config keep synth deterministic (no lookups)."
    for construct in constructs:
        Validations.of(construct).acknowledge(
            Acknowledgment(id="CloudFormation-Validate::W3010", reason=reason)
        )


def ignore_cfn_lint_literal_az(resource: IConstruct | None) -> None:
    if isinstance(resource, CfnResource):
        resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3010"]}})


def acknowledged(assembly_dir: str | Path) -> dict[str, dict[str, str]]:
    """Every acknowledged finding that reached the cloud assembly (the stacks' metadata, the
    nested Stage assemblies' too): construct path -> {finding id: reason}."""
    found: dict[str, dict[str, str]] = {}
    key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY  # a jsii call: read once
    directory = Path(assembly_dir)
    manifest = json.loads((directory / "manifest.json").read_text())
    for artifact in manifest.get("artifacts", {}).values():
        if artifact.get("type") == "cdk:cloud-assembly":
            nested = directory / artifact["properties"]["directoryName"]
            for path, rules in acknowledged(nested).items():
                found.setdefault(path, {}).update(rules)
            continue
        metadata = dict(artifact.get("metadata") or {})
        if extra := artifact.get("additionalMetadataFile"):
            metadata.update(json.loads((directory / extra).read_text()))
        for path, entries in metadata.items():
            for entry in entries:
                if entry.get("type") == key:
                    rules = {
                        k.removeprefix("Annotation::"): str(v) for k, v in entry["data"].items()
                    }
                    found.setdefault(path.lstrip("/"), {}).update(rules)
    return found


def violations(assembly_dir: str | Path) -> list[str]:
    """One line per finding and violating construct in the assembly's validation report: its
    rule, the construct's path and what the rule requires."""
    report_path = Path(assembly_dir) / REPORT_FILE
    if not report_path.exists():
        return []
    report = json.loads(report_path.read_text())
    return sorted(
        {
            f"{violation['ruleName']}: {construct['constructPath']}: "
            + " ".join(str(violation.get("description", "")).split())
            for plugin in report.get("pluginReports", [])
            for violation in plugin.get("violations", [])
            for construct in violation.get("violatingConstructs", [])
        }
    )
