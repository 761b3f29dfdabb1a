"""The CloudFormation execution policy of each stage account, generated from the config."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest

from config import load_config
from pipeline.bootstrap_policy import execution_policy, stage_accounts
from tests.support.policy_coverage import allowed, uncovered
from tests.support.synthesis import ROOT, Synthesis, fixed_context, fixed_dr, stage_named
from tests.support.templates import template_json


def _templates(synthesis: Synthesis, stage_id: str) -> dict[str, Mapping[str, Any]]:
    return {
        name: template_json(synthesis.templates[name])
        for name in (f"{stage_id}-Data", f"{stage_id}-Service")
    }


def test_one_policy_per_stage_account(synthesis: Synthesis) -> None:
    assert stage_accounts(synthesis.config) == ["555555555555", "666666666666"]


def test_each_policy_covers_its_stages_stacks_and_roles(synthesis: Synthesis) -> None:
    for stage in synthesis.config.stages:
        policy = execution_policy(synthesis.config, stage.account)
        assert uncovered(policy, stage, _templates(synthesis, stage.stage_id)) == []


def test_a_policy_covers_no_other_accounts_stage(synthesis: Synthesis) -> None:
    """The coverage check can fail: dev's policy does not let prod's stacks deploy."""
    dev, prod = synthesis.config.stages
    policy = execution_policy(synthesis.config, dev.account)
    problems = uncovered(policy, prod, _templates(synthesis, "Prod"))
    assert "Prod-Service: reads the outputs of Prod-Data" in problems
    assert any(
        p.startswith("Prod-Data/") and ": role arn:aws:iam::666666666666:role/Prod-Data-" in p
        for p in problems
    )
    assert any("dr-fixture-prod-post-deploy-test" in p for p in problems)


def test_iam_is_limited_to_the_stages_roles(synthesis: Synthesis) -> None:
    dev = synthesis.config.stages[0]
    policy = execution_policy(synthesis.config, dev.account)
    assert not allowed(policy, "iam:CreateRole", "arn:aws:iam::555555555555:role/Administrator")
    assert not allowed(policy, "iam:CreateUser", "arn:aws:iam::555555555555:user/anyone")
    assert not allowed(policy, "iam:CreateRole", "arn:aws:iam::555555555555:role/Prod-Data-X")
    assert allowed(policy, "iam:CreateRole", "arn:aws:iam::555555555555:role/Dev-Service-Fn-A1")
    assert not allowed(
        policy,
        "cloudformation:DescribeStacks",
        "arn:aws:cloudformation:us-east-1:555555555555:stack/Other/x",
    )


def test_stages_sharing_an_account_share_its_policy() -> None:
    dr = fixed_dr()
    staging = {**stage_named(dr, "dev"), "name": "staging"}
    dr["stages"].insert(1, staging)
    config = load_config(fixed_context(dr))
    policy = execution_policy(config, "555555555555")
    for stage_id in ("Dev", "Staging"):
        role = f"arn:aws:iam::555555555555:role/{stage_id}-Data-BackupRole-X1"
        assert allowed(policy, "iam:CreateRole", role)
    assert allowed(
        policy,
        "iam:CreateRole",
        "arn:aws:iam::555555555555:role/dr-fixture-staging-post-deploy-test",
    )


@pytest.mark.live
def test_make_target_writes_one_file_per_account() -> None:
    """`make bootstrap-policy` (scripts/bootstrap_policy.py) reads the live cdk.json."""
    result = subprocess.run(
        [sys.executable, "scripts/bootstrap_policy.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    live = load_config(json.loads((ROOT / "cdk.json").read_text())["context"])
    for account in stage_accounts(live):
        path = ROOT / "build" / "bootstrap" / f"execution-policy-{account}.json"
        assert json.loads(path.read_text()) == execution_policy(live, account)
        assert f"build/bootstrap/execution-policy-{account}.json" in result.stdout
