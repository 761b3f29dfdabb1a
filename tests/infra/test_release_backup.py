"""The release proof's backup job and the stage's alarms: the job runs as a role of its own,
which only the post-deploy role may pass, and whose job events the BackupJobProblems rule
leaves out; the stage says itself whether its release runs that job.

The rule is checked against AWS's own example events ("Monitoring AWS Backup events using
Amazon EventBridge", AWS Backup developer guide), matched by moto's EventBridge pattern
matcher: an emulation of EventBridge's, not EventBridge.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from aws_cdk.assertions import Template
from moto.events.models import EventPattern

from stages.compliance import logical_id
from tests.support.synthesis import Synthesis
from tests.support.templates import as_list, get_att, props, resources, template_json

ACCOUNT = "111111111111"
VAULT = "DevDataBackupVault-1a2b3c4d"
PLANS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Dev-Data-BackupBackupRole-ABC"
RELEASE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Dev-Data-BackupReleaseTestRole-DEF"
PLAN_CREATED_BY = {
    "backupPlanId": "aws/efs/414a5bd4-f880-47ad-95f3-f085108a4c3b",
    "backupPlanArn": f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-plan:414a5bd4",
    "backupPlanVersion": "NjBjOTUzZjYtYzZiNi00NjhlLWIzMTEtNWRjOWY0YTNjN2Vj",
    "backupPlanRuleId": "3eb0017c-f262-4211-a802-302cebb11dc2",
}


def backup_job_event(
    state: str, role: str, status_message: str | None, *, plan: bool = False
) -> Any:
    """An event shaped as AWS's examples for that state (fields as in the guide)."""
    detail: dict[str, Any] = {
        "backupJobId": "34176239-e96d-4e1d-9fad-529dbb3c3556",
        "backupVaultArn": f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:{VAULT}",
        "backupVaultName": VAULT,
        "bytesTransferred": "0",
        "creationDate": "2020-07-29T20:13:07.392Z",
        "iamRoleArn": role,
        "resourceArn": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Dev-Data-Table",
        "resourceType": "DynamoDB",
        "state": state,
        "startBy": "2020-07-30T04:13:07.392Z",
        "percentDone": 0,
    }
    if status_message is not None:
        detail["statusMessage"] = status_message
    if plan:
        detail["createdBy"] = PLAN_CREATED_BY
    return {
        "version": "0",
        "id": "710b0398-d48e-f3c3-afca-cfeb2fdaa656",
        "detail-type": "Backup Job State Change",
        "source": "aws.backup",
        "account": ACCOUNT,
        "time": "2020-07-29T20:15:26Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def _rule(template: Template) -> dict[str, Any]:
    [found] = [
        props(r)
        for k, r in resources(template, "AWS::Events::Rule").items()
        if k.startswith("BackupEventsBackupJobProblems")
    ]
    return found


def _exported(data: Template, reference: dict[str, Any]) -> Any:
    """What a weak cross-stack reference (Fn::GetStackOutput) from Service reads in Data."""
    output = reference["Fn::GetStackOutput"]
    assert output["StackName"] == "Dev-Data"
    return template_json(data)["Outputs"][output["OutputName"]]["Value"]


def _release_role_id(synthesis: Synthesis, stage: str = "dev") -> str:
    return logical_id(synthesis.stages[stage].data.backup.release_test_role)


def test_the_release_jobs_run_as_a_role_of_their_own(
    synthesis: Synthesis, dev_data: Template
) -> None:
    roles = resources(dev_data, "AWS::IAM::Role")
    release_id = _release_role_id(synthesis)
    plans_id = logical_id(synthesis.stages["dev"].data.backup.backup_role)
    assert release_id != plans_id
    release, plans = props(roles[release_id]), props(roles[plans_id])
    assert release["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "backup.amazonaws.com"},
        }
    ]
    # What it may back up is what the plans' role may: the same AWS Backup policies...
    assert release["ManagedPolicyArns"] == plans["ManagedPolicyArns"]

    # ...and the same KMS grants, on the same two keys.
    def kms_grants(role_id: str) -> list[tuple[tuple[str, ...], str]]:
        return sorted(
            (tuple(as_list(s["Action"])), json.dumps(s["Resource"]))
            for policy in resources(dev_data, "AWS::IAM::Policy").values()
            if {"Ref": role_id} in props(policy)["Roles"]
            for s in props(policy)["PolicyDocument"]["Statement"]
        )

    assert kms_grants(release_id) == kms_grants(plans_id)
    assert kms_grants(release_id)


def test_the_stage_outputs_its_release_role_and_whether_its_release_runs_a_backup(
    synthesis: Synthesis,
) -> None:
    for stage in ("dev", "prod"):
        data = template_json(synthesis.templates[f"{stage.capitalize()}-Data"])["Outputs"]
        service = template_json(synthesis.templates[f"{stage.capitalize()}-Service"])["Outputs"]
        assert data["BackupTestRoleArn"]["Value"] == get_att(
            _release_role_id(synthesis, stage), "Arn"
        )
        expected = "true" if synthesis.stages[stage].config.backup.test_on_release else "false"
        assert service["BackupTestOnRelease"]["Value"] == expected
    # The fixed config: dev runs the backup job on release, prod does not.
    assert (
        template_json(synthesis.templates["Dev-Service"])["Outputs"]["BackupTestOnRelease"]["Value"]
        == "true"
    )
    assert (
        template_json(synthesis.templates["Prod-Service"])["Outputs"]["BackupTestOnRelease"][
            "Value"
        ]
        == "false"
    )


def test_the_problems_rule_leaves_out_the_release_role_only(
    synthesis: Synthesis, dev_data: Template, dev_service: Template
) -> None:
    detail = _rule(dev_service)["EventPattern"]["detail"]
    [condition] = detail["iamRoleArn"]
    [excluded] = condition["anything-but"]
    assert _exported(dev_data, excluded) == get_att(_release_role_id(synthesis), "Arn")


def _resolved(value: Any, data: Template, values: dict[str, str]) -> Any:
    """`value` with each reference to a Data stack output replaced by the concrete value for
    what that output holds (`values`, by its Value's JSON)."""
    if isinstance(value, dict) and "Fn::GetStackOutput" in value:
        return values[json.dumps(_exported(data, value), sort_keys=True)]
    if isinstance(value, dict):
        return {key: _resolved(item, data, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolved(item, data, values) for item in value]
    return value


@pytest.fixture(scope="module")
def problems_rule(synthesis: Synthesis, dev_data: Template, dev_service: Template) -> EventPattern:
    """The synthesized pattern as EventBridge would see it deployed: its references to the
    Data stack resolved to a vault name and the release role's ARN."""
    backup = synthesis.stages["dev"].data.backup
    values = {
        json.dumps(get_att(logical_id(backup.vault), "BackupVaultName"), sort_keys=True): VAULT,
        json.dumps(get_att(_release_role_id(synthesis), "Arn"), sort_keys=True): RELEASE_ROLE,
    }
    pattern = _resolved(copy.deepcopy(_rule(dev_service)["EventPattern"]), dev_data, values)
    return EventPattern(json.dumps(pattern), pattern)


# (state, status message, a plan's job?) -> whether the stage's alarm counts the event, for a
# job of the plans' role; a job of the release's role is never counted.
CASES = {
    "failed": ("FAILED", "Backup job failed because backup vault does not exist.", False, True),
    # The collision AWS documents: a job that could not start while another job of the same
    # resource ran.
    "expired-plan-job": (
        "EXPIRED",
        "Backup job failed because there was a running job for the same resource.",
        True,
        True,
    ),
    "aborted": ("ABORTED", "Backup job was stopped by user.", False, True),
    "partial": ("PARTIAL", "Some items were not backed up.", True, True),
    "completed-with-issues": ("COMPLETED", "Completed with a warning.", True, True),
    "completed": ("COMPLETED", "", True, False),
    "completed-no-message": ("COMPLETED", None, True, False),
    "running": ("RUNNING", None, True, False),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_plan_jobs_problem_is_counted_and_a_release_jobs_never(
    problems_rule: EventPattern, case: tuple[str, str | None, bool, bool]
) -> None:
    state, message, plan, counted = case
    assert problems_rule.matches_event(backup_job_event(state, PLANS_ROLE, message, plan=plan)) is (
        counted
    )
    assert not problems_rule.matches_event(backup_job_event(state, RELEASE_ROLE, message))


def test_another_vaults_jobs_are_not_counted(problems_rule: EventPattern) -> None:
    event = backup_job_event("FAILED", PLANS_ROLE, "failed")
    event["detail"]["backupVaultName"] = "another-vault"
    assert not problems_rule.matches_event(event)


def _post_deploy_statements(synthesis: Synthesis) -> list[dict[str, Any]]:
    template = synthesis.templates["Dev-Service"]
    role_id = logical_id(synthesis.stages["dev"].service.post_deploy.role)
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in props(policy)["Roles"]
        for statement in props(policy)["PolicyDocument"]["Statement"]
    ]


def test_the_post_deploy_role_may_pass_only_the_release_role_and_list_jobs(
    synthesis: Synthesis, dev_data: Template
) -> None:
    statements = _post_deploy_statements(synthesis)
    [pass_role] = [s for s in statements if "iam:PassRole" in as_list(s["Action"])]
    passed = [_exported(dev_data, each) for each in as_list(pass_role["Resource"])]
    # The release's backup role; and, as dev drills on release, the stage's restore role.
    assert synthesis.stages["dev"].config.backup.drills_on_release
    restore_role_id = logical_id(synthesis.stages["dev"].data.backup.restore_role)
    assert passed == [
        get_att(_release_role_id(synthesis), "Arn"),
        get_att(restore_role_id, "Arn"),
    ]
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}
    }
    # ListBackupJobs has no resource type in IAM (the Service Authorization Reference, as
    # cfn-lint's copy of it says), so "*"; it only reads job status.
    # (CDK merges it with DescribeBackupJob's statement, which is "*" for the same reason.)
    [listing] = [s for s in statements if "backup:ListBackupJobs" in as_list(s["Action"])]
    assert listing["Resource"] == "*" and "Condition" not in listing
    assert set(as_list(listing["Action"])) == {
        "backup:DescribeBackupJob",
        "backup:ListBackupJobs",
        # The release drill's, without resource types too.
        "backup:DescribeRestoreJob",
        "backup:ListRecoveryPointsByResource",
    }


def test_the_pipeline_runs_the_release_job_as_the_release_role(synthesis: Synthesis) -> None:
    template = template_json(synthesis.templates["Pipeline"])
    [pipeline] = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    for stage in ("Dev", "Prod"):
        [actions] = [s["Actions"] for s in pipeline["Properties"]["Stages"] if s["Name"] == stage]
        [proof] = [a for a in actions if a["Name"] == "PostDeployTests"]
        env = {
            v["name"]: v["value"]
            for v in json.loads(proof["Configuration"]["EnvironmentVariables"])
        }
        data_id = synthesis.stages[stage.lower()].data.artifact_id
        assert env["BACKUP_ROLE_ARN"] == f"#{{{data_id}.BackupTestRoleArn}}"
