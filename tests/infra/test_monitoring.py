"""SNS topic, EventBridge rules for AWS Backup, alarms and the dashboard."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.support.synthesis import Synthesis
from tests.support.templates import (
    get_att,
    logical_id,
    only,
    only_under,
    props,
    resources,
    template_json,
)

TOPIC = "NotificationsTopicAE679CBD"


def test_topic_is_cmk_encrypted_with_email_subscribers(
    synthesis: Synthesis, dev_data: Template, prod_data: Template
) -> None:
    for template, stage in (
        (dev_data, synthesis.stages["dev"].config),
        (prod_data, synthesis.stages["prod"].config),
    ):
        _, topic = only(template, "AWS::SNS::Topic")
        assert "EncryptionNotificationsKey" in json.dumps(props(topic)["KmsMasterKeyId"])
        subscriptions = resources(template, "AWS::SNS::Subscription").values()
        assert sorted(props(s)["Endpoint"] for s in subscriptions) == sorted(stage.alarm_emails)
        assert {props(s)["Protocol"] for s in subscriptions} == {"email"}


def test_topic_policy_is_tls_only_and_admits_alarms_and_events(dev_data: Template) -> None:
    _, policy = only(dev_data, "AWS::SNS::TopicPolicy")
    found = props(policy)["PolicyDocument"]["Statement"]
    [deny] = [s for s in found if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    publishers = {s["Principal"]["Service"]: s for s in found if s["Effect"] == "Allow"}
    assert set(publishers) == {"cloudwatch.amazonaws.com", "events.amazonaws.com"}
    # Confused deputy: CloudWatch sends the alarm's ARN (SNS docs' example policy)...
    assert publishers["cloudwatch.amazonaws.com"]["Condition"] == {
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:555555555555:alarm:*"}
    }
    # ...while EventBridge's docs say its SNS topic policies can carry no Condition block
    # (README: Security posture).
    assert "Condition" not in publishers["events.amazonaws.com"]


def test_dead_letters_admit_only_this_stages_rules(
    synthesis: Synthesis, dev_service: Template
) -> None:
    """EventBridge writes to the dead-letter queue only for the stage's own rules (aws:SourceArn,
    as EventBridge's DLQ docs require), and the queue refuses plain HTTP."""
    service = synthesis.stages["dev"].service
    queue_policy = service.dead_letters.queue.node.find_child("Policy")
    policy = resources(dev_service, "AWS::SQS::QueuePolicy")[logical_id(queue_policy)]
    statements = props(policy)["PolicyDocument"]["Statement"]
    sends = [s for s in statements if s["Effect"] == "Allow"]
    rules = {
        logical_id(service.health_check.schedule),
        logical_id(service.backup_events.backup_job_problems),
        logical_id(service.backup_events.restore_jobs),
        logical_id(service.restore_validation.restore_jobs),
        logical_id(service.restore_validation.job_failures),
    }
    assert {s["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][0] for s in sends} == rules
    assert all(s["Principal"] == {"Service": "events.amazonaws.com"} for s in sends)
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    queue = resources(dev_service, "AWS::SQS::Queue")[logical_id(service.dead_letters.queue)]
    assert props(queue)["SqsManagedSseEnabled"] is True
    assert props(queue)["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_every_event_target_and_failed_run_has_a_dead_letter_queue(
    synthesis: Synthesis, dev_service: Template
) -> None:
    queue = logical_id(synthesis.stages["dev"].service.dead_letters.queue)
    for rule_resource in resources(dev_service, "AWS::Events::Rule").values():
        for target in props(rule_resource)["Targets"]:
            assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [queue, "Arn"]}
    _, function = only_under(dev_service, "AWS::Lambda::Function", "HealthCheck")
    assert props(function)["DeadLetterConfig"]["TargetArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    _, invoke_config = only(dev_service, "AWS::Lambda::EventInvokeConfig")
    assert props(invoke_config)["MaximumRetryAttempts"] == 0
    alarm = alarms(dev_service)["UndeliveredEvents"]
    [metric] = [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", [])] or [alarm]
    assert (metric.get("Namespace"), metric.get("MetricName")) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert alarm["Threshold"] == 1 and alarm["TreatMissingData"] == "notBreaching"


def rule(template: Template, prefix: str) -> dict[str, Any]:
    [found] = [
        props(r)
        for k, r in resources(template, "AWS::Events::Rule").items()
        if k.startswith(prefix)
    ]
    return found


def test_backup_job_rule_filters_on_state_for_this_vault(dev_service: Template) -> None:
    pattern = rule(dev_service, "BackupEventsBackupJobProblems")["EventPattern"]
    assert pattern["source"] == ["aws.backup"]
    assert pattern["detail-type"] == ["Backup Job State Change"]
    assert pattern["detail"]["$or"] == [
        {"state": ["FAILED", "ABORTED", "EXPIRED", "PARTIAL"]},
        # Not `exists`: an empty status message must not report a successful job.
        {"state": ["COMPLETED"], "statusMessage": [{"anything-but": [""]}]},
    ]
    assert "BackupVaultName" in json.dumps(pattern["detail"]["backupVaultName"])


def test_restore_job_rule_filters_on_status(dev_service: Template) -> None:
    """Restore job events carry `status`; the original filtered on `state` and never matched."""
    pattern = rule(dev_service, "BackupEventsRestoreJobs")["EventPattern"]
    assert pattern["detail-type"] == ["Restore Job State Change"]
    # The restores someone started and waits on; restore tests have rules of their own.
    assert pattern["detail"] == {
        "status": ["COMPLETED", "FAILED", "ABORTED"],
        "restoreTestingPlanArn": [{"exists": False}],
    }


def test_rules_notify_the_topic_with_a_readable_message(dev_service: Template) -> None:
    for prefix in ("BackupEventsBackupJobProblems", "BackupEventsRestoreJobs"):
        [target] = rule(dev_service, prefix)["Targets"]
        assert "NotificationsTopic" in json.dumps(target["Arn"])
        assert "AWS Backup" in target["InputTransformer"]["InputTemplate"]


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    """The stage's operational alarms (the restore tests' are in test_restore_testing.py)."""
    return {
        key.removeprefix("Alarms")[:-8]: props(alarm)
        for key, alarm in resources(template, "AWS::CloudWatch::Alarm").items()
        if key.startswith("Alarms")
    }


def test_every_alarm_notifies_and_decides_missing_data(dev_service: Template) -> None:
    found = alarms(dev_service)
    assert set(found) == {
        "DatabaseCpu",
        "TableThrottling",
        "HealthCheckErrors",
        "HealthCheckUnhealthy",
        "BackupJobProblems",
        "UndeliveredEvents",
    }
    for name, alarm in found.items():
        assert "NotificationsTopic" in json.dumps(alarm["AlarmActions"]), name
        assert "NotificationsTopic" in json.dumps(alarm["OKActions"]), name
        assert alarm["TreatMissingData"] in {"missing", "notBreaching", "ignore"}, name
        # No alarm treats missing data as breaching: a new stage would page at its first
        # evaluation, before anything could have reported.
    insufficient = {n for n, a in found.items() if "InsufficientDataActions" in a}
    assert insufficient == {"HealthCheckUnhealthy"}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_health_alarm_watches_the_handlers_emf_metric_for_this_stage(
    synthesis: Synthesis, stage: str
) -> None:
    template = synthesis.templates[f"{stage.capitalize()}-Service"]
    alarm = alarms(template)["HealthCheckUnhealthy"]
    # Exactly what the handler emits: namespace, metric and its one `service` dimension.
    assert (alarm["Namespace"], alarm["MetricName"]) == ("DisasterRecovery", "Healthy")
    assert alarm["Dimensions"] == [{"Name": "service", "Value": f"dr-health-check-{stage}"}]
    assert (alarm["Statistic"], alarm["Period"]) == ("Minimum", 300)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert alarm["EvaluationPeriods"] == 2
    # No datapoint means the scheduled check did not run or died before reporting: that goes
    # to INSUFFICIENT_DATA, which notifies like ALARM, and a new alarm starts there, quietly.
    assert alarm["TreatMissingData"] == "missing"
    assert alarm["InsufficientDataActions"] == alarm["AlarmActions"]
    _, function = only_under(template, "AWS::Lambda::Function", "HealthCheck")
    variables = props(function)["Environment"]["Variables"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == alarm["Namespace"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == alarm["Dimensions"][0]["Value"]


def test_health_check_runs_every_five_minutes(dev_service: Template) -> None:
    [(rule_id, rule)] = [
        (resource_id, rule)
        for resource_id, rule in resources(dev_service, "AWS::Events::Rule").items()
        if "ScheduleExpression" in props(rule)
    ]
    assert props(rule)["ScheduleExpression"] == "rate(5 minutes)"
    assert props(rule)["State"] == "ENABLED"
    function_id, _ = only_under(dev_service, "AWS::Lambda::Function", "HealthCheck")
    [target] = props(rule)["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0}
    permissions = resources(dev_service, "AWS::Lambda::Permission").values()
    assert any(
        props(p)["Principal"] == "events.amazonaws.com"
        and props(p)["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
        for p in permissions
    )


def test_aurora_cpu_alarm(dev_service: Template) -> None:
    alarm = alarms(dev_service)["DatabaseCpu"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/RDS", "CPUUtilization")
    assert alarm["Dimensions"][0]["Name"] == "DBClusterIdentifier"
    assert alarm["Statistic"] == "Maximum"  # a busy writer is not averaged away by readers
    # Per minute, ten in a row: sustained load on the busiest instance, not one spike.
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["Threshold"]) == (60, 10, 80)
    assert alarm.get("DatapointsToAlarm", 10) == 10
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_throttling_alarm_watches_this_tables_throttle_metrics(dev_service: Template) -> None:
    alarm = alarms(dev_service)["TableThrottling"]
    metrics = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    throttles = [m for m in metrics if m["Namespace"] == "AWS/DynamoDB"]
    assert sorted(m["MetricName"] for m in throttles) == [
        "ReadThrottleEvents",
        "WriteThrottleEvents",
    ]
    for metric in throttles:
        assert [d["Name"] for d in metric["Dimensions"]] == ["TableName"]
    # A period with only read (or only write) throttling must count: each series is filled.
    [expression] = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    ids = {
        m["MetricStat"]["Metric"]["MetricName"]: m["Id"]
        for m in alarm["Metrics"]
        if "MetricStat" in m
    }
    reads, writes = ids["ReadThrottleEvents"], ids["WriteThrottleEvents"]
    checks = ids["Invocations"]
    assert expression == f"FILL({reads}, 0) + FILL({writes}, 0) + 0 * FILL({checks}, 0)"
    # The heartbeat: the health check's invocations (AWS/Lambda, every 5 minutes) give each
    # period a value, so the alarm returns to OK after a burst (alarms on AWS/DynamoDB metrics
    # keep their state when data is missing).
    [heartbeat] = [m for m in metrics if m["MetricName"] == "Invocations"]
    assert heartbeat["Namespace"] == "AWS/Lambda"
    # The original watched the account-level UserErrors metric, which never fires for a table.
    assert "UserErrors" not in json.dumps(alarm)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_health_check_error_alarm(dev_service: Template) -> None:
    alarm = alarms(dev_service)["HealthCheckErrors"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Errors")
    assert alarm["Threshold"] == 1


def test_backup_problem_alarm_counts_the_rule_matches(dev_service: Template) -> None:
    alarm = alarms(dev_service)["BackupJobProblems"]
    [metric] = [m["MetricStat"]["Metric"] for m in alarm["Metrics"]]
    assert (metric["Namespace"], metric["MetricName"]) == ("AWS/Events", "TriggeredRules")
    [dimension] = metric["Dimensions"]
    assert dimension["Name"] == "RuleName"
    assert dimension["Value"]["Ref"].startswith("BackupEventsBackupJobProblems")


def test_dashboard_shows_every_required_metric(dev_service: Template) -> None:
    _, dashboard = only(dev_service, "AWS::CloudWatch::Dashboard")
    body = json.dumps(props(dashboard)["DashboardBody"])
    # Each name quoted on its own (a metric or a SEARCH's MetricName="..."): a bare "Errors"
    # would also match an alarm's logical id.
    for metric in (
        "CPUUtilization",
        "DatabaseConnections",
        "AuroraReplicaLag",
        "Healthy",
        "ComponentLatency",
        "ConsumedReadCapacityUnits",
        "ConsumedWriteCapacityUnits",
        "Invocations",
        "Errors",
        "Duration",
        "NumberOfBackupJobsCompleted",
        "NumberOfBackupJobsFailed",
    ):
        assert re.search(rf'[\\"]{metric}[\\"]', body), metric


def _dashboard(template: Template) -> dict[str, Any]:
    """The dashboard body as JSON, each token (Ref, GetAtt) written as <logical id>."""
    _, dashboard = only(template, "AWS::CloudWatch::Dashboard")
    body = props(dashboard)["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    text = "".join(
        part if isinstance(part, str) else f"<{next(iter(walk_refs(part)))}>" for part in parts
    )
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def walk_refs(token: dict[str, Any]) -> list[str]:
    if "Ref" in token:
        return [token["Ref"]]
    if "Fn::GetAtt" in token:
        return [token["Fn::GetAtt"][0]]
    if "Fn::GetStackOutput" in token:  # a weak reference to another stack's output
        return [token["Fn::GetStackOutput"]["OutputName"]]
    return ["token"]


def test_backup_widget_searches_this_vaults_own_series(
    synthesis: Synthesis, dev_service: Template
) -> None:
    """AWS Backup publishes job metrics per {BackupVaultName} and per {BackupVaultName,
    ResourceType}, only when nonzero: the search's schema names the vault-only set (a schema
    matches series with exactly its dimensions), and the vault by its name."""
    vault = synthesis.stages["dev"].data.backup.vault
    [vault_output] = [
        name
        for name, output in template_json(synthesis.templates["Dev-Data"])["Outputs"].items()
        if output["Value"] == get_att(vault, "BackupVaultName") and name.startswith("Publish")
    ]
    widgets = _dashboard(dev_service)["widgets"]
    [widget] = [w for w in widgets if "AWS Backup" in w["properties"].get("title", "")]
    expressions = [m[0]["expression"] for m in widget["properties"]["metrics"]]
    assert expressions == [
        "SUM(SEARCH('{AWS/Backup,BackupVaultName} "
        f'MetricName="NumberOfBackupJobs{name}" BackupVaultName="<{vault_output}>"\', '
        "'Sum', 3600))"
        for name in ("Completed", "Failed", "Aborted", "Expired")
    ]


def test_service_changes_whenever_the_data_template_does(synthesis: Synthesis) -> None:
    """Service reads Data's outputs with weak references, re-resolved only when Service is
    updated: the Data template's fingerprint in Service makes each Data change update it."""
    for stage in ("Dev", "Prod"):
        data_file = synthesis.template_file(f"{stage}-Data")
        digest = hashlib.sha256(data_file.read_bytes()).hexdigest()
        service = json.dumps(template_json(synthesis.templates[f"{stage}-Service"]))
        assert f"sha256:{digest}" in service, stage
