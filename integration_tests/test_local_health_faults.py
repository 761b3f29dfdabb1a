"""Local only: the synthesized health-check handler, run by the stand-in against the local
stores, reports each real fault on its own component and recovers when the fault ends."""

from __future__ import annotations

import json
import socket
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration_tests.health import HealthCheckResult, invoke_health_check
from integration_tests.local.harness import LocalStage
from integration_tests.standin import FunctionConfig

DATABASE = ("database_reader", "database_writer")
# A database check ends by its own timeout (5 s, DB_TIMEOUT_S, plus the connect), which the
# tests tell from the report's message; the latency bound is the whole check's deadline
# (8 s), so a loaded machine (make test runs two chains at once) does not make them flaky.
DB_BOUND_MS = 8000
# Stores that answer stay below the database's 5 s: they are not held up by it. A cold start
# (the clients created) on a loaded machine took 2.5 s once, so the bound leaves room.
FAST_STORE_MS = 4000


@pytest.fixture(scope="module")
def lambda_client(local_stage: LocalStage) -> Any:
    return local_stage.lambda_client()


def check(stage: LocalStage, client: Any, function: str | None = None) -> HealthCheckResult:
    return invoke_health_check(client, function or stage.function.name)


def components(result: HealthCheckResult) -> dict[str, dict[str, Any]]:
    return dict(result.payload["components"])


def unhealthy(result: HealthCheckResult) -> set[str]:
    return {name for name, c in components(result).items() if not c["healthy"]}


def test_healthy_when_every_store_answers(local_stage: LocalStage, lambda_client: Any) -> None:
    result = check(local_stage, lambda_client)
    assert result.problems() == []
    assert set(components(result)) == {"dynamodb", "s3", *DATABASE}


def test_database_down_is_reported_within_the_bound_then_recovers(
    local_stage: LocalStage, lambda_client: Any
) -> None:
    local_stage.postgres.stop()
    try:
        started = time.monotonic()
        down = check(local_stage, lambda_client)
        seconds = time.monotonic() - started
    finally:
        local_stage.postgres.start()
    assert unhealthy(down) == set(DATABASE)
    for name in DATABASE:
        component = components(down)[name]
        assert component["error"] == "InterfaceError", component
        assert "Can't create a connection" in component["message"], component
        assert component["latency_ms"] < DB_BOUND_MS
    assert down.payload["statusCode"] == 503
    assert seconds < local_stage.function.timeout_seconds
    problems = "\n".join(down.problems())
    assert "database_writer: InterfaceError:" in problems  # what the smoke test would print
    assert check(local_stage, lambda_client).problems() == []


def test_a_database_that_accepts_but_never_answers_cannot_hold_up_the_others(
    local_stage: LocalStage, lambda_client: Any
) -> None:
    """A black hole (TCP accepted, nothing ever said) is the slowest failure there is."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as black_hole:
        name = f"{local_stage.function.name}-black-hole"
        local_stage.register_function(name, DB_PORT=str(black_hole.getsockname()[1]))
        try:
            started = time.monotonic()
            result = check(local_stage, lambda_client, name)
            seconds = time.monotonic() - started
        finally:
            local_stage.standin.stop_worker(name)
    assert unhealthy(result) == set(DATABASE)
    for database in DATABASE:
        assert components(result)[database]["latency_ms"] < DB_BOUND_MS, components(result)
        assert components(result)[database]["message"] == ("the database did not answer within 5 s")
    for store in ("dynamodb", "s3"):
        assert components(result)[store]["healthy"], components(result)
        assert components(result)[store]["latency_ms"] < FAST_STORE_MS, components(result)
    assert seconds < DB_BOUND_MS / 1000 + 2  # the deadline, not the sum of the checks


def test_database_with_a_certificate_from_another_ca_fails_closed(
    local_stage: LocalStage, lambda_client: Any
) -> None:
    name = f"{local_stage.function.name}-wrong-ca"
    local_stage.register_function(name, SSL_CERT_FILE=str(local_stage.tls.other_ca_cert))
    try:
        result = check(local_stage, lambda_client, name)
    finally:
        local_stage.standin.stop_worker(name)
    assert unhealthy(result) == set(DATABASE)
    for database in DATABASE:
        assert "CERTIFICATE_VERIFY_FAILED" in components(result)[database]["message"]


def test_a_canary_not_under_the_stages_bucket_key_is_unhealthy(
    local_stage: LocalStage, lambda_client: Any
) -> None:
    """The bucket answers, but encrypts with another key than the one the stage gave it."""
    name = f"{local_stage.function.name}-other-key"
    other_key = local_stage.moto.key_arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    local_stage.register_function(name, BUCKET_KEY_ARN=other_key)
    try:
        result = check(local_stage, lambda_client, name)
    finally:
        local_stage.standin.stop_worker(name)
    assert unhealthy(result) == {"s3"}
    s3 = components(result)["s3"]
    assert s3["error"] == "CanaryEncryptionError"
    assert f"under key '{local_stage.moto.key_arn}'" in s3["message"]


@pytest.mark.parametrize(
    ("actions", "component"),
    [(["s3:PutObject"], "s3"), (["dynamodb:PutItem"], "dynamodb")],
    ids=["s3", "dynamodb"],
)
def test_a_denied_call_is_reported_on_its_own_component(
    local_stage: LocalStage, lambda_client: Any, actions: list[str], component: str
) -> None:
    with local_stage.moto.denied(actions):
        result = check(local_stage, lambda_client)
    assert unhealthy(result) == {component}
    assert "AccessDenied" in components(result)[component]["message"]
    assert check(local_stage, lambda_client).problems() == []


def test_deleted_canaries_are_written_again(local_stage: LocalStage, lambda_client: Any) -> None:
    """The DynamoDB item deleted, the S3 object too (a delete marker: the bucket is
    versioned): the next run writes both, S3's only because none exists (If-None-Match)."""
    moto = local_stage.moto
    key = {"id": {"S": "health-check#canary"}}
    moto.client("dynamodb").delete_item(TableName=moto.table_name, Key=key)
    moto.client("s3").delete_object(Bucket=moto.bucket_name, Key="health-check/canary.json")
    result = check(local_stage, lambda_client)
    assert result.problems() == []
    item = moto.client("dynamodb").get_item(TableName=moto.table_name, Key=key)["Item"]
    assert item["written_at"]["S"] == components(result)["dynamodb"]["canary"]
    body = moto.client("s3").get_object(Bucket=moto.bucket_name, Key="health-check/canary.json")
    assert json.loads(body["Body"].read()) == {"written_at": components(result)["s3"]["canary"]}


def test_a_connection_without_tls_is_refused(local_stage: LocalStage) -> None:
    with pytest.raises(RuntimeError, match=r"no pg_hba\.conf entry .* no encryption"):
        local_stage.postgres.psql("SELECT 1", sslmode="disable")


def test_the_function_gets_exactly_the_template_variables_and_the_runtime_ones(
    local_stage: LocalStage, lambda_client: Any, tmp_path: Path
) -> None:
    (tmp_path / "env_handler.py").write_text(
        "import os\n\ndef handler(event, context):\n    return sorted(os.environ)\n"
    )
    name = "environment-probe"
    config = local_stage.function
    local_stage.standin.register_function(
        FunctionConfig(name, tmp_path, "env_handler.handler", config.environment, tmp_path / "log")
    )
    try:
        response = lambda_client.invoke(FunctionName=name, Payload=b"{}")
    finally:
        local_stage.standin.stop_worker(name)
    names = set(json.loads(response["Payload"].read()))
    runtime = {"AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    runtime |= {"SSL_CERT_FILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"}
    assert names - runtime == set(local_stage.template_environment_names)


@pytest.fixture
def failing_function(local_stage: LocalStage, tmp_path: Path) -> Iterator[str]:
    (tmp_path / "boom.py").write_text(
        textwrap.dedent(
            """
            import time

            def handler(event, context):
                if event.get("sleep"):
                    time.sleep(event["sleep"])
                raise ValueError("the store said no")
            """
        )
    )
    name = "failing-function"
    local_stage.standin.register_function(
        FunctionConfig(name, tmp_path, "boom.handler", {}, tmp_path / "log", timeout_seconds=0.5)
    )
    yield name
    local_stage.standin.stop_worker(name)


def test_an_unhandled_error_is_a_function_error(lambda_client: Any, failing_function: str) -> None:
    response = lambda_client.invoke(FunctionName=failing_function, Payload=b"{}", LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "the store said no"
    result = invoke_health_check(lambda_client, failing_function)
    assert result.problems() == ["function error (Unhandled): ValueError: the store said no"]


def test_a_timeout_is_a_function_error_and_a_fresh_environment(
    local_stage: LocalStage, lambda_client: Any, failing_function: str
) -> None:
    def worker() -> int | None:
        return local_stage.standin.function_timings(failing_function).worker_pid

    lambda_client.invoke(FunctionName=failing_function, Payload=b"{}")
    timed_out = worker()
    response = lambda_client.invoke(FunctionName=failing_function, Payload=b'{"sleep": 5}')
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Sandbox.Timedout"
    assert worker() == timed_out
    lambda_client.invoke(FunctionName=failing_function, Payload=b"{}")
    assert worker() not in (None, timed_out)


def test_an_unknown_function_is_not_found(lambda_client: Any) -> None:
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName="no-such-function", Payload=b"{}")
