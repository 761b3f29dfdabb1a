"""Local only: the `dr` command (the installed console script) as an operator runs it, a
subprocess against the local stage by its name, `Standin`. What a person reads is asserted:
the status table's rows, the progress lines with elapsed time and bound, the restore's
figures and cut-over, the drill's report, and the one-line errors. Every run is bounded.

The local stage's restores return the data of their source: a recovery point's copy (so a
canary written after the backup is not in it), or for point-in-time recovery the present
(moto's DynamoDB and the stand-in's RDS copy what is there now, whatever time was asked).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from integration_tests.local.harness import STAGE, LocalStage
from integration_tests.local.restore_stage import RestoreStage

DR = Path(sys.executable).parent / "dr"
RUN_SECONDS = 120
# Fast polls and a bound that still ends a stuck wait within the test's own bound.
FAST = ("--poll", "0.05", "--timeout", "30")


@pytest.fixture(scope="module")
def env(local_stage: LocalStage) -> dict[str, str]:
    assert DR.exists(), f"{DR} is missing: `make` installs the dr command"
    return {"PATH": os.environ.get("PATH", ""), **local_stage.aws_env(local_stage.moto.admin)}


def dr(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DR), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)


def backed_up(restore: RestoreStage, store: str, canary: datetime) -> str:
    """A recovery point holding `canary`; a newer canary is written after it."""
    restore.write_canary(store, canary)
    point = restore.back_up(store)
    restore.write_canary(store, datetime.now(UTC))
    return point


def leftovers(stage: LocalStage, prefix: str) -> list[str]:
    """What a command created under `prefix` and did not delete."""
    moto = stage.moto
    tables = moto.client("dynamodb").list_tables()["TableNames"]
    buckets = [b["Name"] for b in moto.client("s3").list_buckets().get("Buckets", [])]
    admin = stage.moto.admin
    rds = boto3.client(
        "rds",
        endpoint_url=stage.standin_url,
        region_name="us-east-1",
        aws_access_key_id=admin.access_key_id,
        aws_secret_access_key=admin.secret_access_key,
    )
    clusters = [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]]
    return [name for name in (*tables, *buckets, *clusters) if name.startswith(prefix)]


@pytest.fixture(scope="module")
def proven(restore: RestoreStage) -> RestoreStage:
    """Each store backed up and a restore test of each validated, as a day of a stage."""
    for store in ("aurora", "dynamodb", "s3"):
        validation = restore.validate(
            restore.restore_test(backed_up(restore, store, minutes_ago(20)))
        )
        assert validation.job["ValidationStatus"] == "SUCCESSFUL", validation.job
    return restore


def _alarm(stage: LocalStage, name: str, state: str) -> None:
    cloudwatch = stage.moto.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="DisasterRecovery",
        MetricName="Healthy",
        Statistic="Minimum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
        AlarmActions=[stage.outputs["Data"]["TopicArn"]],
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def test_status_reads_every_fact_into_one_table(
    local_stage: LocalStage, proven: RestoreStage, env: dict[str, str]
) -> None:
    _alarm(local_stage, "StandinHealthCheckUnhealthy", "OK")
    done = dr(env, "status", "standin")
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"DR status of {STAGE} (us-east-1) at ")
    assert lines[1].split() == ["SECTION", "SUBJECT", "STATE", "DETAIL"]
    text = done.stdout

    def row(section: str, subject: str, state: str = "ok") -> str:
        pattern = re.compile(rf"^{section}\s+{subject}\s+{state}\s+(.*)$", re.MULTILINE)
        found = pattern.search(text)
        assert found, f"no {section}/{subject}/{state} row in:\n{text}"
        return found[1]

    for component in ("database_reader", "database_writer", "dynamodb", "s3"):
        assert row("health", component).startswith("healthy (")
    for store in ("aurora", "dynamodb", "s3"):
        assert row("recovery point", store).startswith("newest ")
        detail = row("restore test", store)
        assert "COMPLETED, SUCCESSFUL: " in detail and "RPO " in detail, detail
    assert row("restorable until", "dynamodb").endswith("(table PITR)")
    assert row("restorable until", "aurora").endswith("(cluster PITR)")
    assert row("alarms", "all others") == "1 of 1 OK"
    assert "locked: retention 7-35 days" in row("vault", r"\S+")
    assert lines[-1] == "all fine", text
    assert done.returncode == 0, done.stderr


def test_status_says_what_is_not_fine_and_exits_1(
    local_stage: LocalStage, proven: RestoreStage, env: dict[str, str]
) -> None:
    _alarm(local_stage, "StandinRestoreS3NotProven", "ALARM")
    try:
        done = dr(env, "status", "standin", "--json")
    finally:
        local_stage.moto.client("cloudwatch").delete_alarms(
            AlarmNames=["StandinRestoreS3NotProven"]
        )
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["fine"] is False
    assert {
        "section": "alarms",
        "subject": "StandinRestoreS3NotProven",
        "state": "PROBLEM",
        "detail": "ALARM",
    } in report["lines"]


def test_an_unknown_stage_is_one_line(env: dict[str, str]) -> None:
    done = dr(env, "status", "nowhere")
    assert done.returncode == 2
    assert done.stderr == (
        "dr: unknown stage 'nowhere': no stack Nowhere-Data in us-east-1 (the stage's name as "
        "in cdk.json, in its Region: --region)\n"
    )


def test_restore_a_table_from_a_recovery_point_measures_its_rpo(
    local_stage: LocalStage, restore: RestoreStage, env: dict[str, str]
) -> None:
    canary = minutes_ago(45)
    point = backed_up(restore, "dynamodb", canary)
    done = dr(
        env, "restore", "standin", "dynamodb", "--to", point, "--name", "dr-restored-t1", *FAST
    )
    assert done.returncode == 0, done.stderr
    assert (
        f"restoring dynamodb of {STAGE} from recovery point {point} into dr-restored-t1"
        in done.stderr
    )
    assert "waiting for restore job " in done.stderr and "(at most 30 s)" in done.stderr
    assert " s / 30 s] restore job " in done.stderr  # elapsed / bound on every poll
    out = done.stdout
    assert "restored dynamodb into dr-restored-t1" in out
    assert f"canary:     {canary.isoformat(timespec='milliseconds')}" in out
    rpo = int(out.split("RPO:")[1].split()[0])
    assert 45 * 60 <= rpo < 47 * 60  # the backed-up canary's age, not the newer one's
    assert "verdict:    SUCCESSFUL: dynamodb: RPO" in out
    assert "cut-over:\n  1. Stop the writers of" in out
    # A new table beside the live one, which is untouched.
    tables = local_stage.moto.client("dynamodb").list_tables()["TableNames"]
    assert "dr-restored-t1" in tables and local_stage.moto.table_name in tables


def test_restore_the_latest_of_each_store_as_json(
    local_stage: LocalStage, restore: RestoreStage, env: dict[str, str]
) -> None:
    for store in ("dynamodb", "s3", "aurora"):
        backed_up(restore, store, minutes_ago(10))
    for store in ("dynamodb", "s3", "aurora"):
        done = dr(env, "restore", "standin", store, "--to", "latest", "--json", *FAST)
        assert done.returncode == 0, (store, done.stderr)
        result = json.loads(done.stdout)
        assert result["store"] == store and result["verdict"] == "SUCCESSFUL", result
        assert result["resource"].startswith(f"dr-restore-standin-{store}-")
        assert result["rpoSeconds"] is not None and result["cutover"]
    # Aurora: a cluster from the live one's point-in-time recovery, read through its instance
    # by the stage's reader function.
    assert "waiting for instance dr-restore-standin-aurora-" in done.stderr


def test_a_time_outside_the_window_is_refused_with_the_window(env: dict[str, str]) -> None:
    done = dr(env, "restore", "standin", "aurora", "--to", "2020-01-01T00:00:00Z", *FAST)
    assert done.returncode == 2
    [progress, line] = done.stderr.splitlines()
    assert progress.startswith("restoring aurora of Standin from the state at 2020-01-01T00:00:00Z")
    assert line.startswith(
        "dr: --to 2020-01-01T00:00:00Z is outside the cluster's point-in-time recovery's "
        "restorable window, "
    ), line


def test_the_drill_proves_every_store_and_leaves_nothing(
    local_stage: LocalStage, restore: RestoreStage, env: dict[str, str]
) -> None:
    for store in ("aurora", "dynamodb", "s3"):
        backed_up(restore, store, minutes_ago(30))
    done = dr(env, "drill", "standin", *FAST)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"DR drill of {STAGE}"
    rows = [
        ln for ln in lines[2:] if ln.split()[:1] and ln.split()[0] in ("aurora", "dynamodb", "s3")
    ]
    assert [r.split()[0] for r in rows] == ["aurora", "dynamodb", "dynamodb", "s3"]
    assert all(" SUCCESSFUL " in r for r in rows), done.stdout
    assert "cleaned up: nothing the drill created is left" in lines
    assert lines[-1] == "every store restored and proven"
    assert leftovers(local_stage, "dr-drill-") == []


def test_a_store_that_fails_the_drill_fails_it_and_is_cleaned_up(
    local_stage: LocalStage, restore: RestoreStage, env: dict[str, str]
) -> None:
    restore.delete_canary("s3")
    restore.back_up("s3")  # the newest recovery point holds no canary
    restore.write_canary("s3", datetime.now(UTC))
    done = dr(env, "drill", "standin", "--stores", "s3", *FAST)
    assert done.returncode == 1
    [row] = [ln for ln in done.stdout.splitlines() if ln.startswith("s3 ")]
    assert " FAILED " in row and "s3: no canary in the restored copy" in row
    assert done.stdout.splitlines()[-1] == "NOT PROVEN: see the FAILED rows"
    assert leftovers(local_stage, "dr-drill-") == []


def test_ctrl_c_in_the_middle_of_a_drill_leaves_nothing_behind(
    local_stage: LocalStage, env: dict[str, str]
) -> None:
    # The restored cluster stays `creating` long enough to be interrupted while waiting.
    local_stage.standin.script_next_cluster(available_after=30)
    drill = subprocess.Popen(
        [str(DR), "drill", "standin", "--stores", "aurora", "--poll", "0.05", "--timeout", "60"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert drill.stderr is not None
        deadline = time.monotonic() + 60
        seen: list[str] = []
        cluster = ""
        while time.monotonic() < deadline and not cluster:
            line = drill.stderr.readline()
            seen.append(line)
            if found := re.search(r"waiting for cluster (dr-drill-\S+)", line):
                cluster = found.group(1)
        if not cluster:
            pytest.fail(f"the drill never waited for its cluster: {seen}")
        # At once: anything slow here (even listing what exists) could let the cluster
        # become available and the drill finish before the interrupt.
        drill.send_signal(signal.SIGINT)
        out, err = drill.communicate(timeout=RUN_SECONDS)
    finally:
        if drill.poll() is None:
            drill.kill()
    assert drill.returncode == 130, err
    assert "interrupted: deleting what the drill created" in err
    assert f"deleted aurora {cluster}" in err  # the cluster existed, and the drill removed it
    assert "INTERRUPTED: the drill did not finish" in out
    assert leftovers(local_stage, "dr-drill-") == []
