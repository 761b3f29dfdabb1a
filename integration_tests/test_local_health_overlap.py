"""Local only: overlapping invocations (the release's smoke test meeting the 5-minute schedule,
a developer's run) must not report healthy stores as broken, nor move a canary backwards.

Each run is a separate function (its own warm worker, as its own Lambda execution
environment). The order of their requests is forced, not left to chance: run A talks to moto
through a gate (integration_tests/local/gate.py) that holds chosen requests until run B is done.
(Overlapping upserts on one database: test_local_health_database.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from integration_tests.local.functions import Run, functions, invoke
from integration_tests.local.gate import Gate, gate
from integration_tests.local.harness import LocalStage
from integration_tests.standin import FunctionConfig

Register = Callable[..., FunctionConfig]


@pytest.fixture(scope="module")
def lambda_client(local_stage: LocalStage) -> Any:
    return local_stage.lambda_client()


@pytest.fixture
def register(local_stage: LocalStage) -> Iterator[Register]:
    with functions(local_stage) as register:
        yield register


@pytest.fixture
def moto_gate(local_stage: LocalStage) -> Iterator[Gate]:
    with gate(local_stage.moto.url) as opened:
        yield opened


def in_background(call: Callable[[], Run]) -> Callable[[], Run]:
    """Start `call` now; the returned function waits for its result (bounded)."""
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(call)
    pool.shutdown(wait=False)
    return lambda: future.result(timeout=60)


def stored_canaries(stage: LocalStage) -> tuple[str, str]:
    """What DynamoDB and S3 hold now, as a restore would find it."""
    item = stage.moto.client("dynamodb").get_item(
        TableName=stage.moto.table_name,
        Key={"id": {"S": "health-check#canary"}},
        ConsistentRead=True,
    )["Item"]
    body = stage.moto.client("s3").get_object(
        Bucket=stage.moto.bucket_name, Key="health-check/canary.json"
    )["Body"]
    return item["written_at"]["S"], json.loads(body.read())["written_at"]


def warm(stage: LocalStage, client: Any, *functions: FunctionConfig) -> None:
    for function in functions:
        assert invoke(stage, function, client).result.problems() == []


def test_a_newer_canary_from_an_overlapping_run_is_healthy(
    local_stage: LocalStage, lambda_client: Any, register: Register, moto_gate: Gate
) -> None:
    """A writes its canaries; B writes newer ones before A reads back: A reads B's."""
    a = register("overlap-a", AWS_ENDPOINT_URL=moto_gate.url)
    b = register("overlap-b")
    warm(local_stage, lambda_client, a, b)
    moto_gate.hold(("GetItem", "PutItem"), ("GetObject", "PutObject"))
    result_a = in_background(lambda: invoke(local_stage, a, lambda_client))
    moto_gate.wait_held(2)  # A's read-backs, after its writes
    run_b = invoke(local_stage, b, lambda_client)
    moto_gate.release()
    run_a = result_a()
    assert run_b.result.problems() == []
    assert run_a.result.problems() == []
    for store in ("dynamodb", "s3"):
        assert run_a.components[store]["canary"] == run_b.components[store]["canary"], store


def test_an_older_canary_landing_last_does_not_replace_a_newer_one(
    local_stage: LocalStage, lambda_client: Any, register: Register, moto_gate: Gate
) -> None:
    """A's writes are sent first but arrive after B's: the stores keep B's newer canaries (a
    restore would otherwise see data as older than it is), and both runs are healthy."""
    a = register("late-a", AWS_ENDPOINT_URL=moto_gate.url)
    b = register("late-b")
    warm(local_stage, lambda_client, a, b)
    moto_gate.hold(("PutItem", None), ("PutObject", None))
    result_a = in_background(lambda: invoke(local_stage, a, lambda_client))
    moto_gate.wait_held(2)  # A's writes, carrying A's (older) canaries
    run_b = invoke(local_stage, b, lambda_client)
    moto_gate.release()
    run_a = result_a()
    assert run_b.result.problems() == []
    assert run_a.result.problems() == []
    newest = (run_b.components["dynamodb"]["canary"], run_b.components["s3"]["canary"])
    assert stored_canaries(local_stage) == newest
    assert (run_a.components["dynamodb"]["canary"], run_a.components["s3"]["canary"]) == newest
