"""Local only: what the synthesized handler reports, logs and emits as metrics, run by the
stand-in as Lambda runs it (moved here from the unit suite: these start workers and wait on
stores). The handler's pure parts are tested in-process under tests/handler."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from integration_tests.local.echoing import echoing_aws_endpoint, echoing_postgres
from integration_tests.local.functions import Run, functions, invoke
from integration_tests.local.harness import LocalStage
from integration_tests.standin import FunctionConfig

COMPONENTS = {"dynamodb", "s3", "database_writer", "database_reader"}
CLOSED = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "DB_PORT": "9"}  # nothing listens there
SIGV4_SIGNATURE = re.compile(r"\b[0-9a-f]{64}\b")
SESSION_TOKEN = "fake-session-token-never-printed"

Register = Callable[..., FunctionConfig]


@pytest.fixture(scope="module")
def lambda_client(local_stage: LocalStage) -> Any:
    return local_stage.lambda_client()


@pytest.fixture
def register(local_stage: LocalStage) -> Iterator[Register]:
    with functions(local_stage) as register:
        yield register


@pytest.fixture(scope="module")
def unreachable(local_stage: LocalStage, lambda_client: Any) -> Iterator[Run]:
    """One cold invocation with no store reachable (closed loopback ports)."""
    with functions(local_stage) as register:
        yield invoke(local_stage, register("unreachable", **CLOSED), lambda_client)


def test_every_store_unhealthy_when_nothing_answers(
    local_stage: LocalStage, unreachable: Run
) -> None:
    """Every component is reported unhealthy, none silently ok, and the handler returns."""
    report = unreachable.report
    assert (report["statusCode"], report["healthy"]) == (503, False)
    assert set(report["components"]) == COMPONENTS
    for name, component in unreachable.components.items():
        assert component["healthy"] is False, name
        assert component["error"] and component["message"], name
        assert component["latency_ms"] >= 0
    # A connection failure, not a configuration error such as a missing region.
    assert {c["error"] for c in unreachable.components.values()} == {
        "EndpointConnectionError",
        "InterfaceError",
    }
    # Bounded by the per-check timeouts, not the function's.
    assert unreachable.seconds < local_stage.function.timeout_seconds


def test_metrics_contract(unreachable: Run, local_stage: LocalStage) -> None:
    """The alarm and dashboard select exactly these names, units and dimension sets."""
    documents = unreachable.metric_documents()
    environment = local_stage.function.environment
    assert len(documents) == len(COMPONENTS) + 1  # one document per dimension set
    for document in documents:
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == environment["POWERTOOLS_METRICS_NAMESPACE"]
        assert abs(document["_aws"]["Timestamp"] / 1000 - time.time()) < 300
        assert document["service"] == environment["POWERTOOLS_SERVICE_NAME"]
    [healthy] = [d for d in documents if "Component" not in d]
    assert healthy["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert healthy["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [
        {"Name": "Healthy", "Unit": "Count"}
    ]
    assert set(healthy) == {"_aws", "service", "Healthy"}
    assert healthy["Healthy"] == [0.0]
    for name, component in unreachable.components.items():
        [document] = [d for d in documents if d.get("Component") == name]
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert [sorted(d) for d in directive["Dimensions"]] == [["Component", "service"]]
        assert directive["Metrics"] == [
            {"Name": "ComponentHealthy", "Unit": "Count"},
            {"Name": "ComponentLatency", "Unit": "Milliseconds"},
        ]
        assert set(document) == {
            "_aws",
            "service",
            "Component",
            "ComponentHealthy",
            "ComponentLatency",
        }
        assert document["ComponentHealthy"] == [0.0]
        assert document["ComponentLatency"] == [component["latency_ms"]]


def test_one_structured_log_line_with_the_lambda_context(
    unreachable: Run, local_stage: LocalStage
) -> None:
    [log] = unreachable.log_lines()
    assert log["message"] == "DR health check"
    assert log["level"] == "WARNING"
    assert log["service"] == local_stage.function.environment["POWERTOOLS_SERVICE_NAME"]
    assert log["cold_start"] is True
    assert log["function_name"] == f"{local_stage.function.name}-unreachable"
    assert log["function_request_id"] == unreachable.request_id
    assert log["function_memory_size"] == local_stage.function.memory_mb
    assert log["report"] == unreachable.report


@pytest.mark.parametrize(
    ("environment", "healthy"),
    [({}, COMPONENTS), ({"DB_PORT": "9"}, {"dynamodb", "s3"})],
    ids=["all-healthy", "database-down"],
)
def test_metric_values_follow_each_component(
    local_stage: LocalStage,
    lambda_client: Any,
    register: Register,
    environment: dict[str, str],
    healthy: set[str],
) -> None:
    run = invoke(local_stage, register("metrics", **environment), lambda_client)
    everything = healthy == COMPONENTS
    assert run.report["statusCode"] == (200 if everything else 503)
    assert COMPONENTS - run.unhealthy() == healthy
    documents = run.metric_documents()
    [whole] = [d for d in documents if "Component" not in d]
    assert whole["Healthy"] == [float(everything)]
    for name in COMPONENTS:
        [document] = [d for d in documents if d.get("Component") == name]
        assert document["ComponentHealthy"] == [float(name in healthy)], name
    [log] = run.log_lines()
    assert log["level"] == ("INFO" if everything else "WARNING")


def test_no_secret_in_the_output_when_errors_echo_them(
    local_stage: LocalStage, lambda_client: Any, register: Register
) -> None:
    """Stores whose errors repeat the IAM token (in a DSN and as password=), the session
    token, the access key id and the SigV4 signature: none of it reaches the report or the
    log, and each error still says what failed."""
    with echoing_aws_endpoint() as endpoint, echoing_postgres(local_stage.tls) as port:
        function = register(
            "echoing",
            AWS_ENDPOINT_URL=endpoint,
            DB_PORT=str(port),
            AWS_SESSION_TOKEN=SESSION_TOKEN,
        )
        run = invoke(local_stage, function, lambda_client)
    assert {name: c["error"] for name, c in run.components.items()} == {
        "dynamodb": "ClientError",
        "s3": "InvalidRequest",  # a ClientError subclass S3 models
        "database_writer": "DatabaseError",
        "database_reader": "DatabaseError",
    }
    for name, component in run.components.items():
        assert "<redacted>" in component["message"], name
    assert "ValidationException" in run.components["dynamodb"]["message"]
    writer = run.components["database_writer"]["message"]
    assert writer.startswith("28P01 password authentication failed for user"), writer
    assert "postgresql://" in writer
    output = function.log_file.read_text() + str(run.report)
    keys = local_stage.moto.function
    for secret in (keys.access_key_id, keys.secret_access_key, SESSION_TOKEN):
        assert secret not in output
    assert not SIGV4_SIGNATURE.search(output)
    assert "X-Amz-Credential=" not in output  # the IAM token's query string
