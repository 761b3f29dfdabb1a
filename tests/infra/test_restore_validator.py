"""The restore validator's functions: what they run, where, with which settings, and the
permissions that let them read restored copies and nothing of the stage's live data."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aws_cdk.assertions import Template

from config.model import STORES
from stages.components.restore_testing import (
    INSTANCE_DELETE_WAIT,
    INSTANCE_WAIT,
    VALIDATOR_BOUND,
    validation_window_hours,
)
from stages.components.restore_validation import STEP_TIMEOUT
from tests.support.synthesis import Synthesis
from tests.support.templates import (
    get_att,
    logical_id,
    only,
    only_under,
    props,
    ref,
    resources,
    template_json,
)


def _function(template: Template, prefix: str) -> dict[str, Any]:
    return props(only_under(template, "AWS::Lambda::Function", prefix)[1])


def _statements(template: Template, prefix: str) -> list[dict[str, Any]]:
    _, policy = only_under(template, "AWS::IAM::Policy", prefix)
    found: list[dict[str, Any]] = props(policy)["PolicyDocument"]["Statement"]
    return found


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_validator_runs_outside_the_vpc_with_its_settings(
    synthesis: Synthesis, dev_service: Template
) -> None:
    stage = synthesis.stages["dev"]
    config, service = stage.config, stage.service
    validator = _function(dev_service, "RestoreValidatorFunction")
    assert validator["Handler"] == "handler.handler"
    assert "VpcConfig" not in validator
    assert validator["Timeout"] == STEP_TIMEOUT.to_seconds() == 300
    env = validator["Environment"]["Variables"]
    reader = service.restore_validator.reader
    assert env["DB_READER_FUNCTION"] == ref(reader)
    assert env["STEP_QUEUE_URL"] == ref(service.restore_validation.step_queue)
    assert env["DB_USER"] == "dr_validator"
    assert env["DB_CA_BUNDLE"] == "rds-ca-bundle.pem"
    assert env["VALIDATION_INSTANCE_PREFIX"] == "drv-"
    assert env["INSTANCE_WAIT_SECONDS"] == str(int(INSTANCE_WAIT.total_seconds()))
    assert env["INSTANCE_DELETE_WAIT_SECONDS"] == str(int(INSTANCE_DELETE_WAIT.total_seconds()))
    for store in STORES:
        assert env[f"TARGET_RPO_SECONDS_{store.upper()}"] == str(
            int(config.rpo_target(store).total_seconds())
        )
        assert env[f"TARGET_RTO_SECONDS_{store.upper()}"] == str(
            int(config.rto_target(store).total_seconds())
        )
    # The alarms select the metrics the validator emits under its service name.
    assert env["POWERTOOLS_SERVICE_NAME"] == "dr-restore-validator-dev"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "DisasterRecovery"


def test_the_validators_targets_follow_the_stages_configuration(synthesis: Synthesis) -> None:
    prod = synthesis.stages["prod"]
    env = _function(synthesis.templates["Prod-Service"], "RestoreValidatorFunction")["Environment"][
        "Variables"
    ]
    assert env["TARGET_RTO_SECONDS_AURORA"] == str(
        int(prod.config.rto_target("aurora").total_seconds())
    )
    assert env["POWERTOOLS_SERVICE_NAME"] == "dr-restore-validator-prod"


def test_each_step_is_one_invocation_and_the_queue_outwaits_it(
    synthesis: Synthesis, dev_service: Template
) -> None:
    service = synthesis.stages["dev"].service
    _, mapping = only(dev_service, "AWS::Lambda::EventSourceMapping")
    mapping = props(mapping)
    assert mapping["BatchSize"] == 1
    assert mapping["EventSourceArn"] == get_att(service.restore_validation.step_queue, "Arn")
    assert mapping["FunctionName"] == ref(service.restore_validator.function)
    queue = props(
        template_json(dev_service)["Resources"][logical_id(service.restore_validation.step_queue)]
    )
    assert queue["VisibilityTimeout"] >= 6 * STEP_TIMEOUT.to_seconds()


def test_the_waits_fit_the_validation_window() -> None:
    assert INSTANCE_WAIT + INSTANCE_DELETE_WAIT < VALIDATOR_BOUND
    assert timedelta(hours=validation_window_hours()) > VALIDATOR_BOUND


def test_the_reader_alone_reaches_restored_clusters(
    synthesis: Synthesis, dev_service: Template
) -> None:
    stage = synthesis.stages["dev"]
    reader = _function(dev_service, "RestoreValidatorReader")
    assert reader["Handler"] == "handler.read_database"
    assert reader["VpcConfig"]["SubnetIds"]  # the app subnets
    assert set(reader["Environment"]["Variables"]) == {"DB_NAME", "DB_USER", "DB_CA_BUNDLE"}
    [group] = [
        props(g)
        for k, g in resources(dev_service, "AWS::EC2::SecurityGroup").items()
        if k.startswith("RestoreValidatorReader")
    ]
    # No egress of its own but the one rule below (CDK adds no allow-all).
    assert "SecurityGroupEgress" not in group
    [egress] = [
        props(e)
        for k, e in resources(dev_service, "AWS::EC2::SecurityGroupEgress").items()
        if k.startswith("RestoreValidatorReader")
    ]
    assert (egress["FromPort"], egress["ToPort"]) == (5432, 5432)
    target = egress["DestinationSecurityGroupId"]["Fn::GetStackOutput"]["OutputName"]
    assert "RestoreTestingRestoredClusterSecurityGroup" in target
    # It may sign in as dr_validator only.
    [statement] = _statements(dev_service, "RestoreValidatorReader")
    assert statement["Action"] == "rds-db:connect"
    assert statement["Resource"] == (
        f"arn:aws:rds-db:{stage.config.region}:{stage.config.account}:dbuser:*/dr_validator"
    )


def test_the_validator_reaches_restored_copies_and_none_of_the_live_data(
    synthesis: Synthesis, dev_service: Template
) -> None:
    stage = synthesis.stages["dev"]
    statements = _statements(dev_service, "RestoreValidatorFunction")
    by_action: dict[str, list[dict[str, Any]]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in _listed(statement["Action"]):
            by_action.setdefault(action, []).append(statement)
    assert set(by_action) == {
        "backup:DescribeRestoreJob",
        "backup:PutRestoreValidationResult",
        "rds:DescribeDBClusters",
        "rds:CreateDBInstance",
        "rds:AddTagsToResource",
        "rds:DescribeDBInstances",
        "rds:DeleteDBInstance",
        "dynamodb:GetItem",
        "s3:GetObject",
        "kms:CreateGrant",
        "kms:DescribeKey",
        "kms:Decrypt",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "lambda:InvokeFunction",
    }
    arn = f"arn:aws:rds:{stage.config.region}:{stage.config.account}"
    # Instances: only its own, by prefix.
    for action in ("rds:AddTagsToResource", "rds:DescribeDBInstances", "rds:DeleteDBInstance"):
        [statement] = by_action[action]
        assert statement["Resource"] == f"{arn}:db:drv-*"
    # A new instance only in a cluster AWS Backup restored (its tag), never the stage's own.
    create = by_action["rds:CreateDBInstance"]
    clusters = [s for s in create if f"{arn}:cluster:*" in _listed(s["Resource"])]
    assert [s["Condition"] for s in clusters] == [
        {"Null": {"aws:ResourceTag/awsbackup-restore-test": "false"}}
    ]
    assert all(
        r == f"{arn}:db:drv-*" or r.split(":")[5] in ("pg", "og", "subgrp")
        for s in create
        if s not in clusters
        for r in _listed(s["Resource"])
    )
    [table] = by_action["dynamodb:GetItem"]
    assert table["Resource"].endswith(":table/awsbackup-restore-test-*")
    [bucket] = by_action["s3:GetObject"]
    assert bucket["Resource"] == "arn:aws:s3:::awsbackup-restore-test-*/health-check/canary.json"
    [grant] = by_action["kms:CreateGrant"]
    assert grant["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    # Nothing names the stage's live cluster, table or bucket.
    data = stage.data
    text = json.dumps(statements)
    for live in (data.database.cluster, data.table.table, data.bucket.bucket):
        assert logical_id(live) not in text


def test_verdicts_are_kept_a_year_under_the_logs_key(
    synthesis: Synthesis, dev_service: Template
) -> None:
    logs_key = synthesis.stages["dev"].data.keys.logs
    groups = {
        k: props(g)
        for k, g in resources(dev_service, "AWS::Logs::LogGroup").items()
        if k.startswith("RestoreValidator")
    }
    assert len(groups) == 2
    for group in groups.values():
        assert group["RetentionInDays"] == 365
        assert "Fn::GetStackOutput" in json.dumps(group["KmsKeyId"]) or group["KmsKeyId"] == (
            get_att(logs_key, "Arn")
        )
