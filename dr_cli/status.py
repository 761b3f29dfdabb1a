"""`dr status STAGE`: the stage's DR posture now. Each line is a fact that was read, or says
it could not be read and why: nothing is reported fine on doubt, and the command exits 1
when anything is not fine or not known."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dr_cli.aws import Aws, items
from dr_cli.errors import describe
from dr_cli.stage import STORES, Stage
from dr_common.restore_job import STORE_OF_RESOURCE_TYPE

OK, PROBLEM, UNKNOWN = "ok", "PROBLEM", "UNKNOWN"
# A recovery point of these states can be restored (ListRecoveryPointsByResource's Status).
RESTORABLE = ("COMPLETED", "AVAILABLE")


@dataclass(frozen=True)
class Line:
    section: str
    subject: str
    state: str  # OK, PROBLEM or UNKNOWN
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {
            "section": self.section,
            "subject": self.subject,
            "state": self.state,
            "detail": self.detail,
        }


@dataclass
class StatusReport:
    stage: str
    region: str
    read_at: datetime
    lines: list[Line] = field(default_factory=list)

    @property
    def fine(self) -> bool:
        return all(line.state == OK for line in self.lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "region": self.region,
            "readAt": self.read_at.isoformat(),
            "fine": self.fine,
            "lines": [line.as_dict() for line in self.lines],
        }


def age(moment: datetime, now: datetime) -> str:
    seconds = max(int((now - moment).total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} days ago"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def gather(aws: Aws, stage: Stage, now: Callable[[], datetime]) -> StatusReport:
    report = StatusReport(stage.name, stage.region, now())
    for section, reader in (
        ("health", _health),
        ("recovery point", _recovery_points),
        ("restorable until", _restorable),
        ("restore test", _restore_tests),
        ("alarms", _alarms),
        ("vault", _vault),
    ):
        try:
            report.lines.extend(reader(aws, stage, report.read_at))
        except Exception as error:  # a section that cannot be read is UNKNOWN, not fine
            report.lines.append(Line(section, "-", UNKNOWN, describe(error)))
    return report


def _health(aws: Aws, stage: Stage, now: datetime) -> list[Line]:
    answer = aws.client("lambda").invoke(
        FunctionName=stage.output("HealthCheckFunctionName"), Payload=b"{}"
    )
    payload = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError") or not isinstance(payload, dict):
        return [Line("health", "function", PROBLEM, f"the health check failed: {payload}")]
    components = payload.get("components") or {}
    if not components:
        return [Line("health", "function", UNKNOWN, f"no components in {payload}")]
    lines = []
    for name, component in sorted(components.items()):
        healthy = component.get("healthy") is True
        detail = (
            f"healthy ({component.get('latency_ms', '?')} ms)"
            if healthy
            else f"{component.get('error', '?')}: {component.get('message', '')}"
        )
        lines.append(Line("health", name, OK if healthy else PROBLEM, detail))
    return lines


def _recovery_points(aws: Aws, stage: Stage, now: datetime) -> list[Line]:
    backup = aws.client("backup")
    lines = []
    for store in STORES:
        points = items(
            backup.list_recovery_points_by_resource,
            "RecoveryPoints",
            ResourceArn=stage.resource_arn(store),
        )
        usable = [p for p in points if p.get("Status") in RESTORABLE]
        if not usable:
            lines.append(Line("recovery point", store, PROBLEM, "no restorable recovery point"))
            continue
        newest = max(usable, key=lambda p: p["CreationDate"])
        lines.append(
            Line(
                "recovery point",
                store,
                OK,
                f"newest {stamp(newest['CreationDate'])} ({age(newest['CreationDate'], now)}), "
                f"{len(usable)} in all: {newest['RecoveryPointArn']}",
            )
        )
    return lines


def _restorable(aws: Aws, stage: Stage, now: datetime) -> list[Line]:
    """Point-in-time recovery's latest restorable time, where the service reports one."""
    table = aws.client("dynamodb").describe_continuous_backups(TableName=stage.table_name)
    pitr = table["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription") or {}
    lines = []
    latest = pitr.get("LatestRestorableDateTime")
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED" or latest is None:
        lines.append(Line("restorable until", "dynamodb", PROBLEM, "point-in-time recovery is off"))
    else:
        lines.append(
            Line(
                "restorable until",
                "dynamodb",
                OK,
                f"{stamp(latest)} ({age(latest, now)}), from "
                f"{stamp(pitr['EarliestRestorableDateTime'])} (table PITR)",
            )
        )
    [cluster] = aws.client("rds").describe_db_clusters(DBClusterIdentifier=stage.cluster_id)[
        "DBClusters"
    ]
    latest = cluster.get("LatestRestorableTime")
    if latest is None:
        lines.append(Line("restorable until", "aurora", PROBLEM, "no latest restorable time"))
    else:
        lines.append(
            Line(
                "restorable until",
                "aurora",
                OK,
                f"{stamp(latest)} ({age(latest, now)}), from "
                f"{stamp(cluster['EarliestRestorableTime'])} (cluster PITR)",
            )
        )
    return lines


def _restore_tests(aws: Aws, stage: Stage, now: datetime) -> list[Line]:
    """The newest restore test job per store, with the validator's verdict."""
    backup = aws.client("backup")
    jobs = list(
        items(
            backup.list_restore_jobs,
            "RestoreJobs",
            ByRestoreTestingPlanArn=stage.output("RestoreTestingPlanArn"),
        )
    )
    stores = STORE_OF_RESOURCE_TYPE
    lines = []
    for store in STORES:
        mine = [j for j in jobs if stores.get(str(j.get("ResourceType"))) == store]
        if not mine:
            lines.append(Line("restore test", store, PROBLEM, "no restore test has run"))
            continue
        job = max(mine, key=lambda j: j["CreationDate"])
        validation = job.get("ValidationStatus") or "not validated"
        message = job.get("ValidationStatusMessage") or job.get("StatusMessage") or ""
        state = OK if validation == "SUCCESSFUL" else PROBLEM
        when = f"{stamp(job['CreationDate'])} ({age(job['CreationDate'], now)})"
        lines.append(
            Line("restore test", store, state, f"{when} {job['Status']}, {validation}: {message}")
        )
    return lines


def _alarms(aws: Aws, stage: Stage, now: datetime) -> list[Line]:
    """Every alarm that notifies the stage's topic."""
    topic = stage.output("TopicArn")
    # The stage makes metric alarms only.
    listed = items(
        aws.client("cloudwatch").describe_alarms, "MetricAlarms", AlarmTypes=["MetricAlarm"]
    )
    alarms = [a for a in listed if topic in (a.get("AlarmActions") or [])]
    if not alarms:
        return [Line("alarms", "-", UNKNOWN, f"no alarm notifies {topic}")]
    lines = []
    for alarm in sorted(alarms, key=lambda a: (a["StateValue"] == "OK", a["AlarmName"])):
        value = alarm["StateValue"]
        if value == "OK":
            continue
        lines.append(Line("alarms", alarm["AlarmName"], PROBLEM, value))
    quiet = sum(1 for a in alarms if a["StateValue"] == "OK")
    lines.append(Line("alarms", "all others", OK, f"{quiet} of {len(alarms)} OK"))
    return lines


def _vault(aws: Aws, stage: Stage, now: datetime) -> list[Line]:
    vault = aws.client("backup").describe_backup_vault(
        BackupVaultName=stage.output("BackupVaultName")
    )
    points = vault.get("NumberOfRecoveryPoints", "?")
    if not vault.get("Locked"):
        return [
            Line("vault", vault["BackupVaultName"], OK, f"not locked, {points} recovery points")
        ]
    lock = (
        f"locked: retention {vault.get('MinRetentionDays', '-')}-"
        f"{vault.get('MaxRetentionDays', '-')} days"
    )
    if vault.get("LockDate"):
        lock += f", immutable since {stamp(vault['LockDate'])}"
    return [Line("vault", vault["BackupVaultName"], OK, f"{lock}, {points} recovery points")]


def render(report: StatusReport) -> str:
    header = f"DR status of {report.stage} ({report.region}) at {stamp(report.read_at)}"
    rows = [("SECTION", "SUBJECT", "STATE", "DETAIL")]
    rows += [(ln.section, ln.subject, ln.state, ln.detail) for ln in report.lines]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    body = [
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}"
        for row in rows
    ]
    verdict = "all fine" if report.fine else "NOT FINE: see the PROBLEM and UNKNOWN lines"
    return "\n".join([header, *body, verdict])
