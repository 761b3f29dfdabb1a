"""The Stage as a whole: outputs, dev vs prod posture, names, pinned logical ids."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import CfnOutput
from aws_cdk.assertions import Template

from stages.dr_stage import StageOutputs
from tests.support.resource_kinds import NAME_PROPERTIES, REQUIRED_NAMES, STATEFUL_TYPES
from tests.support.synthesis import STACK_NAMES, Synthesis
from tests.support.templates import logical_id, props, resources, template_json

# Logical ids of stateful resources: a change here replaces (and in dev deletes) data.
PINNED_LOGICAL_IDS = {
    "AWS::KMS::Key": [
        "EncryptionBackupKey1919D1EB",
        "EncryptionDataKey4CB32E29",
        "EncryptionLogsKeyDCAD0E25",
        "EncryptionNotificationsKey824AFC4E",
    ],
    "AWS::RDS::DBCluster": ["DatabaseCluster5B53A178"],
    "AWS::DynamoDB::Table": ["Table710B521B"],
    "AWS::S3::Bucket": ["BucketAccessLogs0AA7ED48", "BucketD7FEB781"],
    "AWS::Backup::BackupVault": ["BackupVaultADF21B19"],
    "AWS::SNS::Topic": ["NotificationsTopicAE679CBD"],
    "AWS::EC2::VPC": ["NetworkVpc7FB7348F"],
}


def _cross_account_role_names(synthesis: Synthesis) -> set[str]:
    """The only fixed names: each side of a cross-account trust must know the other's ARN."""
    pipeline = synthesis.config.pipeline
    return {
        name
        for stage in synthesis.config.stages
        for name in (pipeline.post_deploy_role_name(stage), pipeline.test_runner_role_name(stage))
    }


@pytest.mark.parametrize("stack_name", STACK_NAMES)
def test_no_physical_names(synthesis: Synthesis, stack_name: str) -> None:
    template = synthesis.templates[stack_name]
    allowed = _cross_account_role_names(synthesis)
    for resource_type, name_property in NAME_PROPERTIES.items():
        for resource_id, resource in resources(template, resource_type).items():
            name = props(resource).get(name_property)
            assert name is None or name in allowed, f"{resource_id}.{name_property}"


def test_required_names_differ_between_stages(synthesis: Synthesis) -> None:
    def names(stage: str) -> set[str]:
        found = set()
        for resource_type, name_of in REQUIRED_NAMES.items():
            for resource in resources(synthesis.templates[f"{stage}-Data"], resource_type).values():
                found.add(name_of(props(resource)))
        return found

    dev, prod = names("Dev"), names("Prod")
    assert len(dev) == len(prod) == 5  # vault, two plans, proxy, proxy endpoint
    assert not dev & prod


# An instance's id follows its place: the writer, then readers by number (prod has two).
PINNED_INSTANCE_IDS = {
    "Dev": ["DatabaseClusterReader1D8B76102", "DatabaseClusterWriterD43085C6"],
    "Prod": [
        "DatabaseClusterReader1D8B76102",
        "DatabaseClusterReader26C65DE14",
        "DatabaseClusterWriterD43085C6",
    ],
}


@pytest.mark.parametrize("stage", ["Dev", "Prod"])
def test_stateful_logical_ids_are_pinned(synthesis: Synthesis, stage: str) -> None:
    """The one deliberate pin of logical ids (elsewhere tests ask the constructs): a change
    here replaces, and in a destroy stage deletes, data. Record any in CHANGELOG.md."""
    template = synthesis.templates[f"{stage}-Data"]
    for resource_type, logical_ids in PINNED_LOGICAL_IDS.items():
        assert sorted(resources(template, resource_type)) == logical_ids, resource_type
    instances = sorted(resources(template, "AWS::RDS::DBInstance"))
    assert instances == PINNED_INSTANCE_IDS[stage]


def test_stateful_resources_live_only_in_the_data_stack(synthesis: Synthesis) -> None:
    for stage in ("Dev", "Prod"):
        service = synthesis.templates[f"{stage}-Service"]
        for resource_type in STATEFUL_TYPES:
            assert resources(service, resource_type) == {}, resource_type


def _deletion_policies(template: Template) -> dict[str, Any]:
    return {
        logical_id: resource.get("DeletionPolicy", "Delete")
        for resource_type in STATEFUL_TYPES
        for logical_id, resource in resources(template, resource_type).items()
    }


# In a retained stage: what CloudFormation does with each kept resource on stack deletion
# and replacement, and whether the service itself refuses deletion. A protected resource
# must be Retain: CloudFormation could not delete it even to roll back the failed create that
# made it (RetainExceptOnCreate, Snapshot and Delete would all try), which leaves the stack in
# ROLLBACK_FAILED. Everything else is RetainExceptOnCreate: kept, but not as an orphan of a
# failed first create.
RETAINED_STAGE = {
    # type: (DeletionPolicy, UpdateReplacePolicy, deletion protection property or None)
    "AWS::RDS::DBCluster": ("Retain", "Retain", "DeletionProtection"),
    "AWS::DynamoDB::Table": ("Retain", "Retain", "DeletionProtectionEnabled"),
    "AWS::RDS::DBSubnetGroup": ("Retain", "Retain", None),  # the kept cluster's
    "AWS::RDS::DBInstance": ("RetainExceptOnCreate", "Retain", None),
    "AWS::S3::Bucket": ("RetainExceptOnCreate", "Retain", None),
    "AWS::KMS::Key": ("RetainExceptOnCreate", "Retain", None),
    "AWS::Backup::BackupVault": ("RetainExceptOnCreate", "Retain", None),
    "AWS::Logs::LogGroup": ("RetainExceptOnCreate", "Retain", None),
}


def test_retained_stage_policy_and_protection_per_resource(prod_data: Template) -> None:
    kept = {
        logical_id: resource
        for logical_id, resource in template_json(prod_data)["Resources"].items()
        if resource.get("DeletionPolicy", "Delete") != "Delete"
    }
    assert {r["Type"] for r in kept.values()} == set(RETAINED_STAGE)
    for resource_id, resource in kept.items():
        deletion, replacement, protection = RETAINED_STAGE[resource["Type"]]
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == (
            deletion,
            replacement,
        ), resource_id
        if protection is not None:
            assert props(resource)[protection] is True, resource_id
    for resource_type in STATEFUL_TYPES:
        assert resources(prod_data, resource_type), resource_type  # each one is kept


def test_destroy_stage_keeps_only_what_recovery_points_need(
    synthesis: Synthesis, dev_data: Template
) -> None:
    """The vault (CloudFormation cannot delete one holding recovery points) and the keys its
    recovery points are encrypted with (Aurora's and DynamoDB's keep the source's key)."""
    backup, keys = synthesis.stages["dev"].data.backup, synthesis.stages["dev"].data.keys
    policies = _deletion_policies(dev_data)
    for construct in (backup.vault, keys.data, keys.backup):
        assert policies.pop(logical_id(construct)) == "RetainExceptOnCreate"
    assert set(policies.values()) == {"Delete"}
    for resource in template_json(dev_data)["Resources"].values():
        assert props(resource).get("DeletionProtection") in (None, False)
        assert props(resource).get("DeletionProtectionEnabled") in (None, False)


def test_termination_protection_on_prod_data_only(synthesis: Synthesis) -> None:
    prod, dev = synthesis.stages["prod"], synthesis.stages["dev"]
    assert prod.data.termination_protection is True
    assert prod.service.termination_protection is False
    assert dev.data.termination_protection is False


def test_stacks_target_the_configured_environment(synthesis: Synthesis) -> None:
    for stage in synthesis.stages.values():
        config = stage.config
        for stack in (stage.data, stage.service):
            assert (stack.account, stack.region) == (config.account, config.region)
            assert stack.availability_zones == list(config.availability_zones)


def test_stage_exposes_outputs_for_post_deploy_checks(synthesis: Synthesis) -> None:
    outputs = synthesis.stages["dev"].outputs
    assert isinstance(outputs, StageOutputs)
    for field in StageOutputs.__dataclass_fields__:
        assert isinstance(getattr(outputs, field), CfnOutput), field
    data_outputs = template_json(synthesis.templates["Dev-Data"])["Outputs"]
    service_outputs = template_json(synthesis.templates["Dev-Service"])["Outputs"]
    for output_id in (
        "TableName",
        "TableArn",
        "BucketName",
        "BackupVaultName",
        "BackupRoleArn",
        "RestoreRoleArn",
        "ClusterArn",
        "ProxyEndpoint",
        "ProxyReaderEndpoint",
        "TopicArn",
    ):
        assert output_id in data_outputs, output_id
    assert {"HealthCheckFunctionName", "DashboardName", "PostDeployRoleArn"} <= set(service_outputs)


def test_a_new_stage_says_when_its_first_scheduled_recovery_point_is_due(
    synthesis: Synthesis,
) -> None:
    # The fixed configuration backs up hourly: a gap of 1 h, then the job's start window
    # (1 h) and completion window (2 h). The release drill waits that long for the bucket's.
    data_outputs = template_json(synthesis.templates["Dev-Data"])["Outputs"]
    assert synthesis.stages["dev"].config.backup.schedule == "cron(0 * ? * * *)"
    assert data_outputs["BackupFirstPointSeconds"]["Value"] == str(4 * 3600)
