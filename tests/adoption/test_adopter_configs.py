"""An adopting team's own cdk.json passes the same gates as ours. Each test copies this
checkout (tracked and new files, the installed .venv, node_modules and Lambda dependencies
linked, not copied), writes a cdk.json the way an adopter would, and runs the pipeline's gate
there: `make unit` (every behavioural test, plus the live gates against that cdk.json: CLI
synth with cdk-nag, cfn-lint, the invariants, the generated execution policy).

Slow (a synth and cfn-lint per configuration): `make adoption`, part of `make test`, not of
the pipeline's `make unit`.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.synthesis import ROOT

RUN_TIMEOUT_S = 600
LINKED = (".venv", "node_modules", "build/lambda-deps")


def _checkout(destination: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted but not yet committed is listed too
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)  # mtimes kept: make sees the installs as current
    for name in LINKED:
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        (destination / name).symlink_to(ROOT / name)
    return destination


def _with_dr(checkout: Path, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    cdk_json = checkout / "cdk.json"
    settings = json.loads(cdk_json.read_text())
    settings["context"]["dr"] = change(copy.deepcopy(settings["context"]["dr"]))
    cdk_json.write_text(json.dumps(settings, indent=2) + "\n")


def _stage(name: str, account: str, **changes: Any) -> dict[str, Any]:
    stage: dict[str, Any] = {
        "name": name,
        "account": account,
        "region": "eu-west-1",
        "availabilityZones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        "database": {"instanceClass": "t4g.medium", "readerCount": 1},
        "removal": "destroy",
        "alarmEmails": [f"{name}-alerts@adopter.example"],
        "backup": {"schedule": "cron(30 */2 ? * * *)", "retentionDays": 14, "testOnRelease": True},
    }
    stage.update(changes)
    return stage


def three_stages(dr: dict[str, Any]) -> dict[str, Any]:
    """Other accounts, eu-west-1, branch main, a staging stage nobody approves, two prod
    readers, a compliance-mode lock, another schedule, prod proving backups on release."""
    return {
        "pipeline": {
            **dr["pipeline"],
            "name": "acme-dr",
            "account": "210987654321",
            "region": "eu-west-1",
            "repository": "acme/dr-platform",
            "branch": "main",
            "connectionArn": "arn:aws:codeconnections:eu-west-1:210987654321:connection/"
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "notificationEmails": ["platform@adopter.example", "sre@adopter.example"],
        },
        "stages": [
            _stage("dev", "310987654321"),
            _stage("staging", "410987654321", approval=False, removal="retain"),
            _stage(
                "prod",
                "510987654321",
                database={"instanceClass": "r8g.large", "readerCount": 2},
                removal="retain",
                availabilityZones=["eu-west-1c", "eu-west-1a", "eu-west-1b"],
                backup={
                    "schedule": "cron(0 1/3 ? * MON-SAT *)",
                    "retentionDays": 30,
                    "vaultLock": {
                        "mode": "compliance",
                        "minRetentionDays": 14,
                        "maxRetentionDays": 90,
                        "changeableForDays": 3,
                    },
                    "testOnRelease": True,
                },
            ),
        ],
    }


def one_stage_single_account(dr: dict[str, Any]) -> dict[str, Any]:
    """A trial: one stage, in the pipeline's own account."""
    pipeline = dr["pipeline"]
    return {
        "pipeline": pipeline,
        "stages": [
            {
                **_stage("trial", pipeline["account"]),
                "region": pipeline["region"],
                "availabilityZones": [f"{pipeline['region']}{z}" for z in "abc"],
            }
        ],
    }


CONFIGURATIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "three-stages": three_stages,
    "one-stage-single-account": one_stage_single_account,
}


@pytest.fixture(scope="module")
def gate_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, subprocess.Popen[str]]]:
    """The pipeline's gate (`make unit`, its live tests: every test that reads cdk.json) on a
    checkout per configuration, both at once (one synth and cfn-lint each, two cores)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MAKE"))}
    env["PYTEST_ADDOPTS"] = "-q -p no:cacheprovider -m live"
    runs = {}
    for name, configuration in CONFIGURATIONS.items():
        checkout = _checkout(tmp_path_factory.mktemp(name))
        _with_dr(checkout, configuration)
        runs[name] = (
            checkout,
            subprocess.Popen(
                ["make", "--no-print-directory", "unit", "bootstrap-policy"],
                cwd=checkout,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        )
    return runs


@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_the_pipeline_gate_passes_on_an_adopters_checkout(
    gate_runs: dict[str, tuple[Path, subprocess.Popen[str]]], name: str
) -> None:
    checkout, run = gate_runs[name]
    try:
        output, _ = run.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        run.kill()
        pytest.fail(f"the gate on {name} did not finish in {RUN_TIMEOUT_S} s", pytrace=False)
    assert run.returncode == 0, output[-4000:]
    [summary] = [line for line in output.splitlines() if " passed" in line]
    assert "failed" not in summary and "error" not in summary, summary
    assert int(summary.split()[0]) >= 15, summary  # the live gates ran, not a handful
    stages = json.loads((checkout / "cdk.json").read_text())["context"]["dr"]["stages"]
    for account in {stage["account"] for stage in stages}:
        assert (checkout / "build" / "bootstrap" / f"execution-policy-{account}.json").exists()
