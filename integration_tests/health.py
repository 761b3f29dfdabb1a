"""Invoke the health-check function and say, per component, what is unhealthy; and ask again
until it is healthy or a bound passes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from integration_tests.bounded import Deadline, NoAnswerError, api_error, call_within

# One Invoke, botocore's retries included, is awaited at most this long: the function's own
# timeout (30 s) plus a cold start in the VPC, with room. No attempt starts after the poll's
# bound, so the poll ends at most bound + INVOKE_SECONDS after it began.
INVOKE_SECONDS = 90.0


@dataclass(frozen=True)
class HealthCheckResult:
    function_error: str | None  # Lambda's FunctionError, e.g. "Unhandled"
    payload: dict[str, Any]

    def problems(self) -> list[str]:
        """Empty when statusCode is 200 and every component reports healthy."""
        if self.function_error:
            return [
                f"function error ({self.function_error}): "
                f"{self.payload.get('errorType', '?')}: {self.payload.get('errorMessage', '')}"
            ]
        components: dict[str, dict[str, Any]] = self.payload.get("components") or {}
        problems = [
            f"{name}: {component.get('error', '?')}: {component.get('message', '')}"
            for name, component in sorted(components.items())
            if component.get("healthy") is not True
        ]
        if not components:
            problems.append("the report names no components")
        if self.payload.get("statusCode") != 200:
            problems.insert(0, f"statusCode {self.payload.get('statusCode')!r}, not 200")
        return problems


def invoke_health_check(lambda_client: Any, function_name: str) -> HealthCheckResult:
    response = lambda_client.invoke(FunctionName=function_name, Payload=b"{}")
    raw = response["Payload"].read()
    try:
        payload = json.loads(raw) if raw else {}
    except ValueError:
        payload = {"errorMessage": raw[:500].decode(errors="replace")}
    if not isinstance(payload, dict):
        payload = {"errorMessage": f"not a JSON object: {payload!r}"}
    return HealthCheckResult(response.get("FunctionError"), payload)


class HealthCheckError(Exception):
    """The function could not be invoked (an API error, or no answer in time)."""


@dataclass(frozen=True)
class HealthPoll:
    result: HealthCheckResult  # the last report: healthy, or the one at the bound
    attempts: int
    elapsed_seconds: float


def wait_until_healthy(
    lambda_client: Any,
    function_name: str,
    *,
    timeout_seconds: float,
    poll_seconds: float,
    progress: Callable[[str], None],
    call_seconds: float = INVOKE_SECONDS,
) -> HealthPoll:
    """Invoke every `poll_seconds` until a report is healthy or `timeout_seconds` pass (an
    RDS Proxy's targets may still be registering right after a first deploy), one progress
    line per attempt. Returns the last report; raises HealthCheckError, in one line, when an
    Invoke fails (after botocore's retries) or does not answer in its budget."""
    deadline = Deadline(time.monotonic(), timeout_seconds, call_seconds)
    bound = f"of {timeout_seconds:g} s"
    attempt = 0
    while True:
        attempt += 1

        def waiting(seconds: float, attempt: int = attempt) -> None:
            progress(
                f"[health] attempt {attempt}: {function_name} has not answered for "
                f"{seconds:.1f} s (elapsed {deadline.elapsed():.1f} s {bound})"
            )

        try:
            result = call_within(
                lambda: invoke_health_check(lambda_client, function_name),
                deadline.call_budget(),
                every=poll_seconds,
                waiting=waiting,
            )
        except (ClientError, BotoCoreError, NoAnswerError) as error:
            reason = str(error) if isinstance(error, NoAnswerError) else api_error(error)
            raise HealthCheckError(
                f"Invoke of {function_name} failed on attempt {attempt} after "
                f"{deadline.elapsed():.1f} s: {reason}"
            ) from error
        problems = result.problems()
        state = "unhealthy: " + "; ".join(problems) if problems else "healthy"
        progress(
            f"[health] attempt {attempt}: {state} (elapsed {deadline.elapsed():.1f} s {bound})"
        )
        remaining = deadline.remaining()
        if not problems or remaining <= 0:
            return HealthPoll(result, attempt, deadline.elapsed())
        # The last sleep ends at the bound, so the last attempt is made there.
        time.sleep(min(poll_seconds, remaining))
