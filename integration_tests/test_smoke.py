"""Smoke: the deployed health-check function reaches every data store."""

from __future__ import annotations

from typing import Any

from integration_tests.health import invoke_health_check
from integration_tests.target import LAMBDA_CONFIG, Target


def test_health_check_reports_every_component_healthy(target: Target, aws: Any) -> None:
    result = invoke_health_check(aws.client("lambda", config=LAMBDA_CONFIG), target.function_name)
    problems = result.problems()
    assert not problems, f"{target.function_name} is not healthy:\n  " + "\n  ".join(problems)
