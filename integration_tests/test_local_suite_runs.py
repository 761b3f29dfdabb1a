"""Local only: the suite itself, run as the pipeline and a developer run it (a pytest
subprocess, DR_TARGET=env or --target Standin), against the local stage with the stand-in
scripted: the same backup and smoke test functions must pass, fail with the reason, or be
skipped with the reason. The runs go concurrently: each pipeline run has its own runner key
and its own post-deploy role (moto's STS), each developer run the developer's key, so each
run's scripts, faults and request records are its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from dr_common import canary
from integration_tests.health import invoke_health_check
from integration_tests.local import post_deploy_packages
from integration_tests.local.harness import (
    ACCOUNT,
    BACKUP_ROLE_ARN,
    BACKUP_TEST_ROLE_ARN,
    FUNCTION_NAME,
    LOCAL_POLL,
    POST_DEPLOY_ROLE_ARN,
    VAULT_NAME,
    LocalStage,
)
from integration_tests.local.moto import create_stacks
from integration_tests.local.processes import free_port
from integration_tests.local.suite_run import RunningSuite, SuiteRun
from integration_tests.standin import Keys

SMOKE = "test_health_check_reports_every_component_healthy"
BACKUP = "test_on_demand_backup_of_the_table_completes"
DRILL = {
    store: f"test_the_release_drill_restores_and_proves_the_store[{store}]"
    for store in ("dynamodb", "s3")
}
NO_DRILL = {case: "skipped" for case in DRILL.values()}
JOB_ID = r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}"
WHOLE_SUITE, BACKUP_ONLY = ["integration_tests"], ["integration_tests/test_backup.py"]
SMOKE_ONLY = ["integration_tests/test_smoke.py"]
# A function whose database never answers (its port has no listener): never healthy.
UNREADY_FUNCTION = f"{FUNCTION_NAME}-unready"
# A stage whose config says testOnRelease false, as its Service stack's output says.
QUIET_STAGE = "Quiet"


def _register_unready_function(stage: LocalStage, principal: str) -> None:
    stage.register_function(UNREADY_FUNCTION, DB_PORT=str(free_port()))
    # Warm now: a cold start while every run starts at once would use up the short bound.
    invoke_health_check(stage.lambda_client(), UNREADY_FUNCTION)


def _bucket_backed_up(stage: LocalStage, principal: str) -> None:
    """The bucket as a running stage has it: the health check's canary, and the plan's
    completed recovery point holding it (the release drill restores the newest)."""
    stage.moto.client("s3").put_object(
        Bucket=stage.moto.bucket_name,
        Key=canary.S3_OBJECT_KEY,
        Body=json.dumps({canary.WRITTEN_AT: canary.to_text(datetime.now(UTC))}).encode(),
    )
    stage.standin.add_plan_job(
        f"arn:aws:s3:::{stage.moto.bucket_name}",
        VAULT_NAME,
        BACKUP_ROLE_ARN,
        principal=principal,
        listings=0,
    )


def _restores_denied(stage: LocalStage, principal: str) -> None:
    """A release whose post-deploy role may not start restores: the drill must fail it."""
    _bucket_backed_up(stage, principal)
    stage.standin.inject_fault(
        "StartRestoreJob",
        "AccessDeniedException",
        "User is not authorized to perform: backup:StartRestoreJob",
        status=403,
        count=2,
        principal=principal,
    )


def _plan_job_running(stage: LocalStage, principal: str) -> None:
    """The table's plan job, active for the next two listings of it."""
    stage.standin.add_plan_job(
        stage.moto.table_arn, VAULT_NAME, BACKUP_ROLE_ARN, principal=principal, listings=2
    )


@dataclass(frozen=True)
class Scenario:
    args: list[str]
    env: dict[str, str]  # on top of the pipeline's environment for this stage
    prepare: Callable[[LocalStage, str], None] = lambda stage, principal: None
    developer: bool = False  # --target <stage> with the developer's own key, not DR_TARGET=env


SCENARIOS = {
    "pipeline": Scenario(WHOLE_SUITE, {"DRILL_ON_RELEASE": "true"}, _bucket_backed_up),
    "drill-denied": Scenario(WHOLE_SUITE, {"DRILL_ON_RELEASE": "true"}, _restores_denied),
    "developer": Scenario(["integration_tests", "--target", "Standin"], {}, developer=True),
    "job-failed": Scenario(
        BACKUP_ONLY,
        {},
        lambda s, p: s.standin.script_next_job(
            "FAILED", 2, "Insufficient privileges to perform this action.", p
        ),
    ),
    "vault-lock": Scenario(BACKUP_ONLY, {"BACKUP_RETENTION_DAYS": "1"}),
    "stuck": Scenario(
        BACKUP_ONLY,
        # Long enough for a loaded machine to describe the job twice (CREATED, then RUNNING).
        {"BACKUP_TIMEOUT_SECONDS": "3"},
        lambda s, p: s.standin.script_next_job("RUNNING", principal=p),
    ),
    "access-denied": Scenario(
        BACKUP_ONLY,
        {},
        lambda s, p: s.standin.inject_fault(
            "StartBackupJob",
            "AccessDeniedException",
            "User is not authorized to perform: backup:StartBackupJob",
            status=403,
            principal=p,
        ),
    ),
    "describe-expired": Scenario(
        BACKUP_ONLY,
        {},
        lambda s, p: s.standin.inject_fault(
            "DescribeBackupJob",
            "ExpiredTokenException",
            "The security token included in the request is expired",
            status=403,
            principal=p,
        ),
    ),
    "throttled": Scenario(
        BACKUP_ONLY,
        {},
        lambda s, p: s.standin.inject_fault(
            "StartBackupJob", "ThrottlingException", "Rate exceeded", count=2, principal=p
        ),
    ),
    "not-selected": Scenario(WHOLE_SUITE, {"BACKUP_TEST": "false"}),
    "bad-contract": Scenario(WHOLE_SUITE, {"TABLE_ARN": "", "BACKUP_TEST": "maybe"}),
    "describe-null": Scenario(
        BACKUP_ONLY,
        {},
        lambda s, p: s.standin.inject_answer("DescribeBackupJob", "null", principal=p),
    ),
    # The table's hourly plan job is running when the release's backup test begins.
    "plan-job": Scenario(BACKUP_ONLY, {}, _plan_job_running),
    "smoke-unready": Scenario(
        SMOKE_ONLY,
        {
            "HEALTH_CHECK_FUNCTION_NAME": UNREADY_FUNCTION,
            "SMOKE_TIMEOUT_SECONDS": "4",
            "SMOKE_POLL_SECONDS": "0.5",
        },
        _register_unready_function,
    ),
    "bound-nan": Scenario(WHOLE_SUITE, {"BACKUP_TIMEOUT_SECONDS": "nan"}),
    "drill-without-backup": Scenario(
        WHOLE_SUITE, {"DRILL_ON_RELEASE": "true", "BACKUP_TEST": "false"}
    ),
    "developer-bound-inf": Scenario(
        ["integration_tests", "--target", "Standin", "--backup-timeout-seconds", "inf"],
        {},
        developer=True,
    ),
    # A developer's run takes the stage's own word: its output says no backup job.
    "developer-quiet": Scenario(["integration_tests", "--target", QUIET_STAGE], {}, developer=True),
    # The stage's own post-deploy role trusts another principal: moto's STS refuses the run.
    "untrusted-role": Scenario(SMOKE_ONLY, {"POST_DEPLOY_ROLE_ARN": POST_DEPLOY_ROLE_ARN}),
}


@dataclass(frozen=True)
class Run:
    result: SuiteRun
    keys: Keys  # the run's own key: the pipeline runner's, or the developer's
    principal: str  # what the stand-in scopes its calls to: the assumed role, or the key

    def outcomes(self) -> dict[str, str]:
        return {name: case.outcome for name, case in self.result.cases.items()}


@pytest.fixture(scope="module")
def runs(
    local_stage: LocalStage, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Run]]:
    standin = local_stage.standin
    standin.reset()
    create_stacks(
        local_stage.moto,
        QUIET_STAGE,
        {
            "Data": {
                "TableArn": local_stage.moto.table_arn,
                "BackupVaultName": VAULT_NAME,
                "BackupRoleArn": BACKUP_ROLE_ARN,
                "BackupTestRoleArn": BACKUP_TEST_ROLE_ARN,
            },
            "Service": {
                "HealthCheckFunctionName": FUNCTION_NAME,
                "PostDeployRoleArn": POST_DEPLOY_ROLE_ARN,
                "BackupTestOnRelease": "false",
            },
        },
    )
    started: dict[str, tuple[RunningSuite, Keys, str]] = {}
    try:
        for name, scenario in SCENARIOS.items():
            if scenario.developer:  # the key moto and the stand-in both know
                keys = local_stage.moto.admin
                principal = keys.access_key_id
                env = {**local_stage.aws_env(keys), **LOCAL_POLL}
            else:
                runner = local_stage.new_runner()
                keys, principal = runner.keys, runner.role_arn
                env = {
                    **local_stage.post_deploy_env(keys, role_arn=runner.role_arn),
                    **scenario.env,
                }
            scenario.prepare(local_stage, principal)
            junit = tmp_path_factory.mktemp(name) / "junit.xml"
            # The pipeline's runs get only what its post-deploy step installs.
            suite = RunningSuite(env, scenario.args, junit, post_deploy=not scenario.developer)
            started[name] = (suite, keys, principal)
        yield {
            name: Run(suite.result(), keys, principal)
            for name, (suite, keys, principal) in started.items()
        }
    finally:
        for suite, _, _ in started.values():
            suite.stop()


def test_the_pipeline_run_passes_with_every_call_signed_by_the_assumed_role(
    runs: dict[str, Run], local_stage: LocalStage
) -> None:
    run = runs["pipeline"]
    assert run.result.returncode == 0, run.result.output
    passed = {case: "passed" for case in DRILL.values()}
    assert run.outcomes() == {SMOKE: "passed", BACKUP: "passed", **passed}  # no local-only
    # In the release's order: the smoke test, the backup job, then the drill of its point.
    output = run.result.output
    order = [
        output.index("[health] attempt 1: healthy"),
        output.index("[backup] recovery point "),
        output.index("[drill] drill: dynamodb from the recovery point of this release's"),
        output.index("[drill] drill: s3 from the bucket's newest recovery point"),
    ]
    assert order == sorted(order), output
    # The drill's report, in the JUnit report the pipeline publishes.
    for store, case in DRILL.items():
        out = run.result.cases[case].system_out
        assert "DR drill of Standin" in out, out
        assert re.search(rf"^{store} .* SUCCESSFUL ", out, re.MULTILINE), out
        assert "cleaned up: nothing the drill created is left" in out, out
    role = run.principal.rsplit("/", 1)[1]
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/dr-post-deploy-Standin"
    calls = local_stage.standin.requests(run.principal)
    assert {str(r["operation"]) for r in calls} == {
        "Invoke",
        "ListBackupJobs",
        "StartBackupJob",
        "DescribeBackupJob",
        # The release drill's.
        "ListRecoveryPointsByResource",
        "StartRestoreJob",
        "DescribeRestoreJob",
    }
    for call in calls:
        # Temporary credentials moto's STS issued for the run's role, with their token.
        assert call["access_key_id"].startswith("ASIA"), call
        assert call["access_key_id"] != run.keys.access_key_id
        assert call["arn"] == session, call
        assert call["session_token"], call
        assert call["signature_verified"] is True
        assert call["status"] == 200
    assert local_stage.standin.requests(run.keys.access_key_id) == []  # nothing as the runner


def test_a_restore_the_release_cannot_make_fails_the_release_naming_the_store(
    runs: dict[str, Run], local_stage: LocalStage
) -> None:
    run = runs["drill-denied"]
    assert run.result.returncode == 1, run.result.output
    failed = {case: "failed" for case in DRILL.values()}
    assert run.outcomes() == {SMOKE: "passed", BACKUP: "passed", **failed}
    for store, case in DRILL.items():
        message = run.result.cases[case].message.splitlines()[0]
        assert re.fullmatch(
            rf"Failed: {store}: StartRestoreJob failed: AccessDeniedException: User is not "
            r"authorized to perform: backup:StartRestoreJob",
            message,
        ), message
    # Nothing was restored, so nothing is left: no table or bucket of the drill's.
    tables = local_stage.moto.client("dynamodb").list_tables()["TableNames"]
    buckets = [b["Name"] for b in local_stage.moto.client("s3").list_buckets()["Buckets"]]
    assert not [name for name in tables + buckets if name.startswith("dr-drill-")]


def test_a_role_that_does_not_trust_the_runner_cannot_be_assumed(runs: dict[str, Run]) -> None:
    """The runner may assume post-deploy roles, but the stage's role trusts another
    principal: moto's STS refuses it, and the run fails before any check."""
    run = runs["untrusted-role"]
    assert run.result.returncode != 0
    assert run.outcomes() == {SMOKE: "error"}, run.result.output
    assert "AccessDenied" in run.result.output
    assert "is not authorized to perform: sts:AssumeRole" in run.result.output


def test_the_pipeline_runs_see_only_what_the_post_deploy_step_installs() -> None:
    """The fence the pipeline's runs get: boto3 and pytest import, the CDK and moto do not."""
    assert {"boto3", "botocore", "pytest"} <= post_deploy_packages.installed_closure()
    code = (
        "import importlib, json\n"
        "def importable(name):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError:\n"
        "        return False\n"
        "    return True\n"
        "names = ['boto3', 'pytest', 'moto', 'aws_cdk', 'cfnlint']\n"
        "print(json.dumps({name: importable(name) for name in names}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": os.environ["PATH"], **post_deploy_packages.environment()},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout) == {
        "boto3": True,
        "pytest": True,
        "moto": False,
        "aws_cdk": False,
        "cfnlint": False,
    }


def test_backup_progress_is_visible_live_although_pytest_captures_output(
    runs: dict[str, Run],
) -> None:
    output = runs["pipeline"].result.output
    lines = re.findall(
        rf"^\[backup\] job {JOB_ID}: (\w+) [\d.]+% \(elapsed [\d.]+ s of 30 s\)$",
        output,
        re.MULTILINE,
    )
    assert lines == ["CREATED", "RUNNING", "COMPLETED"]


def test_a_developer_run_reads_the_stacks_and_the_vault_lock_with_own_credentials(
    runs: dict[str, Run], local_stage: LocalStage
) -> None:
    run = runs["developer"]
    assert run.result.returncode == 0, run.result.output
    assert run.outcomes() == {SMOKE: "passed", BACKUP: "passed", **NO_DRILL}
    calls = local_stage.standin.requests(run.keys.access_key_id)
    assert all(r["access_key_id"] == run.keys.access_key_id for r in calls)  # assumes nothing
    assert all(r["session_token"] is None for r in calls)
    [start] = local_stage.standin.requests(run.keys.access_key_id, "StartBackupJob")
    assert start["access_key_id"] == run.keys.access_key_id
    assert start["params"]["Lifecycle"] == {"DeleteAfterDays": 7}
    assert start["params"]["StartWindowMinutes"] == 60


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        (
            "job-failed",
            rf"backup job {JOB_ID} ended FAILED after [\d.]+ s: "
            r"Insufficient privileges to perform this action\.",
        ),
        (
            "vault-lock",
            rf"backup job {JOB_ID} ended FAILED after [\d.]+ s: "
            # The stand-in's wording of the StatusMessage (AWS does not document it).
            r"The lifecycle's DeleteAfterDays \(1\) is shorter than the minimum retention of "
            r"7 days",
        ),
        (
            "stuck",
            rf"backup job {JOB_ID} still RUNNING \(37\.0% done\) after [\d.]+ s, "
            r"past the 3 s bound",
        ),
        (
            "describe-expired",
            rf"DescribeBackupJob of backup job {JOB_ID} failed after [\d.]+ s \(last state: "
            r"no state yet\): ExpiredTokenException: The security token included in the "
            r"request is expired",
        ),
        (
            "access-denied",
            r"StartBackupJob failed: AccessDeniedException: User is not authorized to perform: "
            r"backup:StartBackupJob",
        ),
        (
            "describe-null",
            rf"DescribeBackupJob of backup job {JOB_ID} failed after [\d.]+ s \(last state: "
            r"no state yet\): unusable answer: botocore could not read it \(TypeError: ",
        ),
    ],
)
def test_the_backup_test_fails_with_the_reason(
    runs: dict[str, Run], scenario: str, reason: str
) -> None:
    run = runs[scenario]
    assert run.result.returncode == 1, run.result.output
    case = run.result.cases[BACKUP]
    assert case.outcome == "failed"
    assert re.search(reason, case.message), case.message
    # And in the log, the failure's whole report is that one line (no traceback, no chain).
    report = re.search(
        rf"^_+ {BACKUP} _+\n(.*?)\n(?:-+ generated xml|=+ short test summary)",
        run.result.output,
        re.MULTILINE | re.DOTALL,
    )
    assert report, run.result.output
    assert "\n" not in report[1], report[1]
    assert re.search(reason, report[1]), report[1]


def test_a_stuck_job_fails_at_the_bound_not_before_and_not_long_after(
    runs: dict[str, Run],
) -> None:
    message = runs["stuck"].result.cases[BACKUP].message
    match = re.search(r" after ([\d.]+) s, past the 3 s bound", message)
    assert match, message
    # The bound, plus one call's time and a slow machine's: the last sleep ends at the bound.
    assert 3.0 <= float(match[1]) < 5.0, message


def test_a_throttled_start_is_retried_with_its_token_and_passes(
    runs: dict[str, Run], local_stage: LocalStage
) -> None:
    run = runs["throttled"]
    assert run.outcomes() == {BACKUP: "passed"}, run.result.output
    starts = local_stage.standin.requests(run.principal, "StartBackupJob")
    assert [r["status"] for r in starts] == [400, 400, 200]
    tokens = {r["params"]["IdempotencyToken"] for r in starts}
    assert len(tokens) == 1
    jobs = {
        r["params"]["path"]
        for r in local_stage.standin.requests(run.principal, "DescribeBackupJob")
    }
    assert len(jobs) == 1


def test_a_backup_test_not_selected_is_reported_skipped_with_the_reason(
    runs: dict[str, Run],
) -> None:
    run = runs["not-selected"]
    assert run.result.returncode == 0, run.result.output
    assert run.outcomes() == {SMOKE: "passed", BACKUP: "skipped", **NO_DRILL}
    reason = "backup job test not selected for stage Standin (BACKUP_TEST=false)"
    assert reason in run.result.cases[BACKUP].message  # in the JUnit report
    assert "SKIPPED [1] integration_tests/test_backup.py" in run.result.output
    assert reason in run.result.output  # and in the log's summary


def test_an_incomplete_contract_is_a_usage_error_naming_what_is_missing(
    runs: dict[str, Run],
) -> None:
    run = runs["bad-contract"]
    assert run.result.returncode == 4, run.result.output
    assert "DR_TARGET=env needs these environment variables: TABLE_ARN" in run.result.output


def test_the_backup_job_waits_for_the_tables_plan_job_and_tells_them_apart(
    runs: dict[str, Run], local_stage: LocalStage
) -> None:
    run = runs["plan-job"]
    assert run.outcomes() == {BACKUP: "passed"}, run.result.output
    waits = re.findall(
        rf"^\[backup\] waiting: {re.escape(local_stage.moto.table_arn)} has active backup "
        rf"jobs: ({JOB_ID}) \(RUNNING, plan standin-snapshot-plan\) \(elapsed [\d.]+ s of 30 s\)$",
        run.result.output,
        re.MULTILINE,
    )
    assert len(waits) == 2, run.result.output
    records = local_stage.standin.requests(run.principal)
    operations = [r["operation"] for r in records]
    first_start = operations.index("StartBackupJob")
    # Three looks (busy, busy, free) of four queries each, all before the start.
    assert operations[:first_start] == ["ListBackupJobs"] * 12
    [start] = [r for r in records if r["operation"] == "StartBackupJob"]
    assert start["params"]["IamRoleArn"] == BACKUP_TEST_ROLE_ARN  # the release's own role


def test_the_smoke_test_asks_again_until_its_bound_and_fails_with_the_last_report(
    runs: dict[str, Run],
) -> None:
    run = runs["smoke-unready"]
    assert run.result.returncode == 1, run.result.output
    case = run.result.cases[SMOKE]
    assert case.outcome == "failed"
    match = re.search(
        rf"{re.escape(UNREADY_FUNCTION)} is not healthy after (\d+) attempts in ([\d.]+) s "
        r"\(bound 4 s\); the last report:\n  (.*)",
        case.message,
        re.DOTALL,
    )
    assert match, case.message
    attempts, seconds, report = int(match[1]), float(match[2]), match[3]
    assert attempts >= 2, case.message  # asked again, every 0.5 s
    # The last attempt is made at the bound; a warm one takes well under a second here.
    assert 4.0 <= seconds < 4.0 + 3.0, case.message
    assert "database_writer: " in report and "database_reader: " in report
    # Each attempt printed live, with its elapsed time.
    lines = re.findall(
        r"^\[health\] attempt (\d+): unhealthy: .* \(elapsed [\d.]+ s of 4 s\)$",
        run.result.output,
        re.MULTILINE,
    )
    assert [int(n) for n in lines] == list(range(1, attempts + 1)), run.result.output


@pytest.mark.parametrize(
    ("scenario", "line"),
    [
        ("bound-nan", "ERROR: BACKUP_TIMEOUT_SECONDS must be a finite number above 0, not 'nan'"),
        (
            "developer-bound-inf",
            "ERROR: --backup-timeout-seconds must be a finite number above 0, not inf",
        ),
    ],
)
def test_a_bound_that_is_not_finite_and_positive_stops_the_run_before_any_test(
    runs: dict[str, Run], scenario: str, line: str
) -> None:
    run = runs[scenario]
    assert run.result.returncode == 4, run.result.output
    assert run.result.output.strip().splitlines() == [line], run.result.output
    assert not run.result.cases


def test_a_drill_without_the_backup_job_it_restores_stops_the_run_before_any_test(
    runs: dict[str, Run],
) -> None:
    run = runs["drill-without-backup"]
    assert run.result.returncode == 4, run.result.output
    assert run.result.output.strip().splitlines() == [
        "ERROR: the release drill (DRILL_ON_RELEASE=true) restores the table from this run's "
        "backup job, which is off (BACKUP_TEST=false)"
    ], run.result.output


def test_a_developer_run_takes_the_stages_own_word_on_the_backup_job(
    runs: dict[str, Run],
) -> None:
    run = runs["developer-quiet"]
    assert run.result.returncode == 0, run.result.output
    assert run.outcomes() == {SMOKE: "passed", BACKUP: "skipped", **NO_DRILL}
    reason = (
        f"backup job test not selected for stage {QUIET_STAGE} "
        f"({QUIET_STAGE}-Service output BackupTestOnRelease=false)"
    )
    assert reason in run.result.cases[BACKUP].message
