"""Extra health-check functions for fault tests (the synthesized asset, the environment
changed), invoked with what a test needs to judge the run: the report, its request id, its
wall time and the log lines it wrote."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from integration_tests.health import HealthCheckResult
from integration_tests.local.harness import LocalStage
from integration_tests.standin import FunctionConfig


@dataclass(frozen=True)
class Run:
    result: HealthCheckResult
    request_id: str
    seconds: float
    log: list[dict[str, Any]]  # this invocation's JSON log lines: the log line and EMF documents

    @property
    def report(self) -> dict[str, Any]:
        return self.result.payload

    @property
    def components(self) -> dict[str, dict[str, Any]]:
        return dict(self.report["components"])

    def unhealthy(self) -> set[str]:
        return {name for name, c in self.components.items() if not c["healthy"]}

    def metric_documents(self) -> list[dict[str, Any]]:
        return [line for line in self.log if "_aws" in line]

    def log_lines(self) -> list[dict[str, Any]]:
        return [line for line in self.log if "_aws" not in line]


def invoke(stage: LocalStage, function: FunctionConfig, client: Any) -> Run:
    started = time.monotonic()
    response = client.invoke(FunctionName=function.name, Payload=b"{}")
    payload = json.loads(response["Payload"].read() or b"{}")
    seconds = time.monotonic() - started
    request_id = str(response["ResponseMetadata"]["RequestId"])
    return Run(
        HealthCheckResult(response.get("FunctionError"), payload),
        request_id,
        seconds,
        _log(function, request_id),
    )


def _log(function: FunctionConfig, request_id: str) -> list[dict[str, Any]]:
    """The JSON lines between this invocation's START and END lines in the function's log."""
    lines = function.log_file.read_text().splitlines()
    start = lines.index(f"START RequestId: {request_id} Version: $LATEST")
    end = lines.index(f"END RequestId: {request_id}", start)
    return [json.loads(line) for line in lines[start + 1 : end] if line.startswith("{")]


@contextmanager
def functions(stage: LocalStage) -> Iterator[Any]:
    """register(suffix, **environment) -> FunctionConfig; every worker is stopped after."""
    registered: list[str] = []

    def register(suffix: str, **environment: str) -> FunctionConfig:
        name = f"{stage.function.name}-{suffix}"
        registered.append(name)
        return stage.register_function(name, **environment)

    try:
        yield register
    finally:
        for name in registered:
            stage.standin.stop_worker(name)
