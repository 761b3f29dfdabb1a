"""Invoke the health-check function and say, per component, what is unhealthy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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
