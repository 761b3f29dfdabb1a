"""Smoke: the deployed health-check function reaches every data store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from integration_tests.health import HealthCheckError, wait_until_healthy
from integration_tests.target import LAMBDA_CONFIG, Target


def test_health_check_reports_every_component_healthy(
    target: Target, aws: Any, progress: Callable[[str], None]
) -> None:
    settings = target.smoke
    try:
        poll = wait_until_healthy(
            aws.client("lambda", config=LAMBDA_CONFIG),
            target.function_name,
            timeout_seconds=settings.timeout_seconds,
            poll_seconds=settings.poll_seconds,
            progress=progress,
        )
    except HealthCheckError as error:
        failure = str(error)
    else:
        problems = poll.result.problems()
        if not problems:
            return
        failure = (
            f"{target.function_name} is not healthy after {poll.attempts} attempts in "
            f"{poll.elapsed_seconds:.1f} s (bound {settings.timeout_seconds:g} s); the last "
            "report:\n  " + "\n  ".join(problems)
        )
    # Outside the except block: there, pytest would also print the exception chain.
    pytest.fail(failure, pytrace=False)
