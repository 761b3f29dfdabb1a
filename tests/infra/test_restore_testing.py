"""Restore testing: the plan and its selections per store, their windows' arithmetic, the
validator's event wiring, and the alarms and dashboard that report what the tests prove."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from aws_cdk.assertions import Template

from config.cron import parse
from stages.components.restore_alarms import proof_periods, proof_window
from stages.components.restore_testing import (
    START_WINDOW,
    VALIDATOR_BOUND,
    selection_window_days,
    validation_window_hours,
)
from tests.support.synthesis import Synthesis
from tests.support.templates import get_att, logical_id, only, props, ref, resources


def _selections(template: Template) -> dict[str, dict[str, Any]]:
    return {
        props(s)["ProtectedResourceType"]: props(s)
        for s in resources(template, "AWS::Backup::RestoreTestingSelection").values()
    }


def test_plan_tests_the_newest_recovery_point_of_the_stages_vault_daily(
    synthesis: Synthesis, dev_data: Template
) -> None:
    data = synthesis.stages["dev"].data
    _, plan = only(dev_data, "AWS::Backup::RestoreTestingPlan")
    plan = props(plan)
    assert plan["ScheduleExpression"] == "cron(0 6 ? * * *)"  # the default: daily
    assert plan["StartWindowHours"] == 2
    assert plan["RecoveryPointSelection"] == {
        "Algorithm": "LATEST_WITHIN_WINDOW",
        "IncludeVaults": [get_att(data.backup.vault, "BackupVaultArn")],
        "RecoveryPointTypes": ["CONTINUOUS", "SNAPSHOT"],
        "SelectionWindowDays": 1,  # hourly backups
    }
    name = plan["RestoreTestingPlanName"]
    assert name.isalnum() and len(name) <= 50  # letters, digits (and underscores) only


def test_plan_names_differ_between_stages(synthesis: Synthesis) -> None:
    names = {
        props(only(synthesis.templates[f"{stage}-Data"], "AWS::Backup::RestoreTestingPlan")[1])[
            "RestoreTestingPlanName"
        ]
        for stage in ("Dev", "Prod")
    }
    assert len(names) == 2


def test_each_store_is_selected_with_the_stages_network_key_and_restore_role(
    synthesis: Synthesis, dev_data: Template
) -> None:
    data = synthesis.stages["dev"].data
    selections = _selections(dev_data)
    assert set(selections) == {"Aurora", "DynamoDB", "S3"}
    key = get_att(data.keys.data, "Arn")
    for selection in selections.values():
        assert selection["IamRoleArn"] == get_att(data.backup.restore_role, "Arn")
        assert selection["ValidationWindowHours"] == validation_window_hours()
        assert (
            selection["RestoreTestingPlanName"]
            == props(only(dev_data, "AWS::Backup::RestoreTestingPlan")[1])["RestoreTestingPlanName"]
        )
    aurora = selections["Aurora"]
    assert aurora["ProtectedResourceArns"] == [
        {
            "Fn::Join": [
                "",
                ["arn:aws:rds:us-east-1:555555555555:cluster:", ref(data.database.cluster)],
            ]
        }
    ]
    subnets = data.database.cluster.node.find_child("Subnets")
    group = data.restore_testing.restored_cluster_security_group
    assert aurora["RestoreMetadataOverrides"] == {
        "dbSubnetGroupName": ref(subnets),
        # A JSON list in a string, as restore metadata wants lists.
        "vpcSecurityGroupIds": {"Fn::Join": ["", ['["', get_att(group, "GroupId"), '"]']]},
        "dbClusterParameterGroupName": ref(data.database.node.find_child("Parameters")),
        "enableIamDatabaseAuthentication": "true",
        "kmsKeyId": key,
    }
    assert selections["DynamoDB"]["ProtectedResourceArns"] == [get_att(data.table.table, "Arn")]
    assert selections["DynamoDB"]["RestoreMetadataOverrides"] == {
        "encryptionType": "KMS",
        "kmsMasterKeyArn": key,
    }
    assert selections["S3"]["ProtectedResourceArns"] == [get_att(data.bucket.bucket, "Arn")]
    assert selections["S3"]["RestoreMetadataOverrides"] == {
        "encryptionType": "SSE-KMS",
        "kmsKey": key,
    }


def test_restored_clusters_admit_no_one_but_the_validator(
    synthesis: Synthesis, dev_data: Template
) -> None:
    group = synthesis.stages["dev"].data.restore_testing.restored_cluster_security_group
    sg = resources(dev_data, "AWS::EC2::SecurityGroup")[logical_id(group)]
    assert props(sg).get("SecurityGroupIngress") in (None, [])
    assert props(sg)["SecurityGroupEgress"][0]["CidrIp"] == "255.255.255.255/32"  # none


@pytest.mark.parametrize(
    ("backups", "days"),
    [
        ("cron(0 * ? * * *)", 1),  # hourly: 1 h + 3 h of the job's windows + 2 h test start
        ("cron(0 5 ? * * *)", 2),  # daily: 24 + 5 h > one day
        ("cron(0 5 ? * SUN *)", 8),  # weekly
        ("cron(0 */20 ? * * *)", 2),  # 0:00 and 20:00: a 20 h gap
    ],
)
def test_the_selection_window_always_reaches_a_recovery_point(backups: str, days: int) -> None:
    gap = parse(backups).longest_gap()
    assert selection_window_days(gap) == days
    # A test starting as late as it may, just before the next backup completes, still finds
    # the previous one: gap + the job's own start and completion windows + the test's start.
    assert timedelta(days=days) >= gap + timedelta(hours=3) + START_WINDOW


def test_the_validation_window_outlasts_the_validator() -> None:
    hours = validation_window_hours()
    assert timedelta(hours=hours) > VALIDATOR_BOUND
    assert 1 <= hours <= 168


@pytest.mark.parametrize(
    "schedule", ["cron(0 6 ? * * *)", "cron(0 */6 ? * * *)", "cron(0 6 ? * 1,7 *)"]
)
def test_not_proven_alarm_covers_the_proof_window_within_cloudwatchs_limits(
    schedule: str,
) -> None:
    period, periods = proof_periods(schedule)
    assert period * periods >= proof_window(schedule)
    assert period * periods <= timedelta(days=7)  # CloudWatch evaluates at most 7 days
    assert period >= timedelta(hours=1) and period % timedelta(hours=1) == timedelta(0)


def test_events_of_this_plans_jobs_reach_the_validators_step_queue(
    synthesis: Synthesis, dev_service: Template
) -> None:
    service = synthesis.stages["dev"].service
    validation = service.restore_validation
    rule = props(resources(dev_service, "AWS::Events::Rule")[logical_id(validation.restore_jobs)])
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.backup"]
    assert pattern["detail-type"] == ["Restore Job State Change"]
    assert list(pattern["detail"]) == ["restoreTestingPlanArn"]
    assert "RestoreTestingPlan" in json.dumps(pattern["detail"]["restoreTestingPlanArn"])
    [target] = rule["Targets"]
    assert target["Arn"] == get_att(validation.step_queue, "Arn")
    queue = props(resources(dev_service, "AWS::SQS::Queue")[logical_id(validation.step_queue)])
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == get_att(
        service.dead_letters.queue, "Arn"
    )
    failures = props(
        resources(dev_service, "AWS::Events::Rule")[logical_id(validation.job_failures)]
    )
    assert failures["EventPattern"]["detail"]["status"] == ["FAILED", "ABORTED"]


def _restore_alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        key.removeprefix("RestoreAlarms")[:-8]: props(alarm)
        for key, alarm in resources(template, "AWS::CloudWatch::Alarm").items()
        if key.startswith("RestoreAlarms")
    }


def test_alarms_per_store_against_its_targets(synthesis: Synthesis, dev_service: Template) -> None:
    found = _restore_alarms(dev_service)
    stores = {"aurora": "Aurora", "dynamodb": "DynamoDB", "s3": "S3"}
    expected = {"RestoreJobFailed"} | {
        f"Restore{title}{kind}"
        for title in stores.values()
        for kind in ("NotValidated", "RpoOverTarget", "RtoOverTarget", "NotProven")
    }
    assert set(found) == expected
    config = synthesis.stages["dev"].config
    for store, title in stores.items():
        rpo, rto = found[f"Restore{title}RpoOverTarget"], found[f"Restore{title}RtoOverTarget"]
        assert rpo["Threshold"] == config.rpo_target(store).total_seconds() == 2 * 3600
        assert rto["Threshold"] == config.rto_target(store).total_seconds()
        for alarm in (rpo, rto, found[f"Restore{title}NotValidated"]):
            dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
            assert dimensions == {"service": "dr-restore-validator-dev", "Store": store}
            # The last verdict stands until the next test's.
            assert alarm["TreatMissingData"] == "ignore"
        proof = found[f"Restore{title}NotProven"]
        assert proof["MetricName"] == "RestoreValidated" and proof["Statistic"] == "Maximum"
        # Daily tests: 34 hours in a row without a validated restore (missing data breaches).
        assert (proof["Period"], proof["EvaluationPeriods"], proof["DatapointsToAlarm"]) == (
            3600,
            34,
            34,
        )
        assert proof["TreatMissingData"] == "breaching"
    assert found["RestoreJobFailed"]["MetricName"] == "TriggeredRules"
    for alarm in found.values():
        assert "NotificationsTopic" in json.dumps(alarm["AlarmActions"])


def test_dashboard_shows_rpo_and_rto_beside_their_targets(dev_service: Template) -> None:
    _, dashboard = only(dev_service, "AWS::CloudWatch::Dashboard")
    body = json.dumps(props(dashboard)["DashboardBody"])
    for metric in ("RestoreRpoSeconds", "RestoreRtoSeconds", "RestoreValidated"):
        assert metric in body, metric
    for annotation in ("aurora target", "dynamodb target", "s3 target"):
        assert annotation in body, annotation
