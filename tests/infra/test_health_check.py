"""The health-check function: runtime, network placement, least privilege, bundled code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from xml.sax.saxutils import escape

import pytest
from aws_cdk.assertions import Template

from stages.components.health_check import COMPONENTS as STACK_COMPONENTS
from stages.components.health_check import METRICS_NAMESPACE
from tests.support.synthesis import Synthesis
from tests.support.templates import only, props, resources, walk

CANARY_OBJECT_KEY = "health-check/canary.json"


def function(template: Template) -> dict[str, Any]:
    [found] = [
        props(f)
        for k, f in resources(template, "AWS::Lambda::Function").items()
        if k.startswith("HealthCheckFunction")
    ]
    return found


def statements(template: Template) -> list[dict[str, Any]]:
    [policy] = [
        props(p)
        for k, p in resources(template, "AWS::IAM::Policy").items()
        if k.startswith("HealthCheckFunctionServiceRole")
    ]
    found: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_newest_python_runtime_in_the_app_subnets(dev_service: Template) -> None:
    properties = function(dev_service)
    assert properties["Runtime"] == "python3.14"
    assert properties["Handler"] == "handler.handler"
    subnets = json.dumps(properties["VpcConfig"]["SubnetIds"])
    assert subnets.count("NetworkVpcAppSubnet") == 3
    assert "DataSubnet" not in subnets


def test_environment_names_every_store_and_no_secret(dev_service: Template) -> None:
    variables = function(dev_service)["Environment"]["Variables"]
    assert set(variables) == {
        "TABLE_NAME",
        "BUCKET_NAME",
        "BUCKET_KEY_ARN",
        "DB_ENDPOINT",
        "DB_READER_ENDPOINT",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "CANARY_OBJECT_KEY",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
    }
    assert variables["CANARY_OBJECT_KEY"] == CANARY_OBJECT_KEY
    assert "ProxyReaderEndpoint" in json.dumps(variables["DB_READER_ENDPOINT"])


def test_the_canary_key_is_the_buckets_own(dev_service: Template, dev_data: Template) -> None:
    """BUCKET_KEY_ARN, which the S3 check compares with what S3 reports, is the very key the
    bucket encrypts with (locally, moto's key stands in, so only the template can show it)."""
    variable = function(dev_service)["Environment"]["Variables"]["BUCKET_KEY_ARN"]
    output = variable["Fn::GetStackOutput"]
    assert output["StackName"] == "Dev-Data"
    exported = dev_data.to_json()["Outputs"][output["OutputName"]]["Value"]
    buckets = [
        props(b) for k, b in resources(dev_data, "AWS::S3::Bucket").items() if "AccessLogs" not in k
    ]
    [bucket] = buckets
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == exported


def test_least_privilege_policy(dev_service: Template) -> None:
    found = statements(dev_service)
    every_action = [a for s in found for a in actions(s)]
    assert not [a for a in every_action if a.startswith("secretsmanager:")]
    assert "*" not in [s["Resource"] for s in found]
    dynamodb = [s for s in found if actions(s)[0].startswith("dynamodb:")]
    assert [sorted(actions(s)) for s in dynamodb] == [["dynamodb:GetItem", "dynamodb:PutItem"]]
    # S3: the bucket itself (s3:GetBucket*, s3:List*) and the one canary object, nothing else.
    for statement in (s for s in found if actions(s)[0].startswith("s3:")):
        targets = statement["Resource"]
        for resource in targets if isinstance(targets, list) else [targets]:
            if "Fn::Join" in resource:
                bucket_arn, suffix = resource["Fn::Join"][1]
                assert suffix == f"/{CANARY_OBJECT_KEY}"
            else:
                bucket_arn = resource
            assert "BucketD7FEB781Arn" in json.dumps(bucket_arn)


def test_proxy_connect_is_scoped_to_the_proxy_and_user(dev_service: Template) -> None:
    [connect] = [s for s in statements(dev_service) if actions(s) == ["rds-db:connect"]]
    text = json.dumps(connect["Resource"])
    # arn:...:dbuser:<the proxy's resource id, prx-..., the 7th field of its ARN>/dr_admin
    [(head, resource_id, tail)] = [connect["Resource"]["Fn::Join"][1]]
    assert re.fullmatch(r"arn:aws:rds-db:us-east-1:\d{12}:dbuser:", head), head
    assert tail == "/dr_admin"
    assert resource_id["Fn::Select"][0] == 6
    assert resource_id["Fn::Select"][1]["Fn::Split"][0] == ":"
    # The proxy's id comes from its ARN, imported strongly (Fn::Split takes no GetStackOutput).
    assert "Fn::ImportValue" in text and "Fn::GetStackOutput" not in text


def test_network_egress_only_to_the_proxy_and_https(dev_service: Template) -> None:
    [group] = [
        props(g)
        for k, g in resources(dev_service, "AWS::EC2::SecurityGroup").items()
        if k.startswith("HealthCheck")
    ]
    inline = group["SecurityGroupEgress"]
    assert inline == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "S3 and DynamoDB gateway endpoints",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    [egress] = [props(e) for e in resources(dev_service, "AWS::EC2::SecurityGroupEgress").values()]
    assert (egress["FromPort"], egress["ToPort"]) == (5432, 5432)
    assert "DestinationSecurityGroupId" in egress


def test_logs_have_retention(dev_service: Template) -> None:
    _, group = only(dev_service, "AWS::Logs::LogGroup")
    assert props(group)["RetentionInDays"] == 30


def asset_dir(synthesis: Synthesis, template: Template) -> Path:
    key = function(template)["Code"]["S3Key"]
    return synthesis.outdir / f"asset.{key.removesuffix('.zip')}"


def test_bundle_holds_handler_and_its_dependencies(
    synthesis: Synthesis, dev_service: Template
) -> None:
    bundle = asset_dir(synthesis, dev_service)
    assert (bundle / "handler.py").is_file()
    assert (bundle / "pg8000" / "native.py").is_file()
    assert (bundle / "scramp").is_dir()
    assert (bundle / "aws_lambda_powertools" / "metrics").is_dir()
    assert (bundle / "jmespath").is_dir()
    assert (bundle / "typing_extensions.py").is_file()
    # The runtime provides the SDK; a bundled copy would shadow it and grow every cold start.
    assert not (bundle / "boto3").exists() and not (bundle / "botocore").exists()
    assert not list(bundle.rglob("__pycache__"))


# The bundled handler, run in its own process as the Lambda runtime would call it. Arguments
# replace parts of the world: `ok:<component>` makes that check succeed, `hang:<component>`
# makes it never answer (the deadline shortened to 0.5 s), `late:<component>` runs the real
# check only after that deadline, `deadline:<seconds>` sets the deadline (with either, the
# process lives on after the handler returns, for the late check), and `echo-secrets`
# makes the database driver fail with an error that repeats its password and connection string.
RUNNER = """
import json, os, socket, sys
import handler
import pg8000.exceptions, pg8000.native

class Context:
    function_name = "dr-health-check"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:111111111111:function:dr-health-check"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

def echo_secrets(user, *, host, port, database, password, **_):
    raise pg8000.exceptions.InterfaceError(
        f"cannot connect to postgresql://{user}:{password}@{host}:{port}/{database} "
        f"with password={password}"
    )

for argument in sys.argv[1:]:
    if argument.startswith("hang:"):
        handler.CHECK_DEADLINE_S = 0.5
        handler.CHECKS[argument[5:]] = lambda: __import__("time").sleep(5) or {}
    elif argument.startswith("deadline:"):
        handler.CHECK_DEADLINE_S = float(argument[9:])
    elif argument.startswith("late:"):  # the real check, starting after the deadline
        handler.CHECK_DEADLINE_S = 0.5
        check = handler.CHECKS[argument[5:]]
        handler.CHECKS[argument[5:]] = lambda check=check: __import__("time").sleep(1) or check()
    elif argument.startswith("ok:"):
        handler.CHECKS[argument[3:]] = lambda: {"canary": "stub"}
    elif argument == "echo-secrets":
        # The handler opens the TCP connection itself: give it a listener to reach.
        listener = socket.create_server(("127.0.0.1", 0), backlog=8)
        os.environ["DB_PORT"] = str(listener.getsockname()[1])
        pg8000.native.Connection = echo_secrets
print(json.dumps(handler.handler({}, Context())), flush=True)
if any(argument.startswith(("late:", "deadline:")) for argument in sys.argv[1:]):
    __import__("time").sleep(4)  # as a thawed environment would let a late check go on
os._exit(0)  # as Lambda returns: without waiting for threads a deadline left behind
"""
SERVICE_NAME = "dr-health-check-dev"
# What the stack's alarm and dashboard read: the bundled handler must emit exactly these.
NAMESPACE = METRICS_NAMESPACE
COMPONENTS = set(STACK_COMPONENTS)
# Distinctive fake credentials, to look for in everything the function prints.
ACCESS_KEY_ID = "ASIAFAKEACCESSKEY123"
SECRET_ACCESS_KEY = "fake-secret-access-key-never-printed"
SESSION_TOKEN = "fake-session-token-never-printed"
SECRETS = (ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN)
SIGV4_SIGNATURE = re.compile(r"\b[0-9a-f]{64}\b")
CLOSED_PORT_URL = "http://127.0.0.1:9"


@dataclass(frozen=True)
class Invocation:
    report: dict[str, Any]
    logs: list[dict[str, Any]]
    metrics: list[dict[str, Any]]  # EMF documents
    output: str  # stdout and stderr, whole
    seconds: float

    def metric_document(self, component: str | None) -> dict[str, Any]:
        [document] = [m for m in self.metrics if m.get("Component") == component]
        return document


def invoke(bundle: Path, cwd: Path, *arguments: str, endpoint: str) -> Invocation:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(bundle),
        "PYTHONDONTWRITEBYTECODE": "1",  # the bundle stays as synthesized
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "AWS_ENDPOINT_URL": endpoint,
        "TABLE_NAME": "table",
        "BUCKET_NAME": "bucket",
        "BUCKET_KEY_ARN": "arn:aws:kms:us-east-1:111111111111:key/stage-key",
        "CANARY_OBJECT_KEY": CANARY_OBJECT_KEY,
        "DB_ENDPOINT": "127.0.0.1",
        "DB_READER_ENDPOINT": "127.0.0.1",
        "DB_PORT": "9",
        "DB_NAME": "dr",
        "DB_USER": "dr_admin",
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, *arguments],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no warning from Powertools, nothing but the lines below
    *lines, last = [json.loads(line) for line in result.stdout.splitlines()]
    return Invocation(
        report=last,
        logs=[line for line in lines if "_aws" not in line],
        metrics=[line for line in lines if "_aws" in line],
        output=result.stdout + result.stderr,
        seconds=seconds,
    )


@pytest.fixture(scope="module")
def bundle(synthesis: Synthesis, dev_service: Template) -> Path:
    return asset_dir(synthesis, dev_service)


@pytest.fixture(scope="module")
def unreachable(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Invocation:
    """One invocation with no store reachable (closed loopback ports)."""
    return invoke(bundle, tmp_path_factory.mktemp("run"), endpoint=CLOSED_PORT_URL)


def test_bundled_handler_reports_every_store_unhealthy_when_nothing_answers(
    unreachable: Invocation,
) -> None:
    """Every component is reported unhealthy, none silently ok, and the handler returns."""
    report = unreachable.report
    assert report["statusCode"] == 503
    assert report["healthy"] is False
    assert set(report["components"]) == COMPONENTS
    for name, component in report["components"].items():
        assert component["healthy"] is False, name
        assert component["error"] and component["message"], name
        assert component["latency_ms"] >= 0
    # A connection failure, not a configuration error such as a missing region.
    assert {c["error"] for c in report["components"].values()} == {
        "EndpointConnectionError",
        "InterfaceError",
    }
    assert unreachable.seconds < 30  # bounded by the per-check timeouts, not the Lambda timeout


def test_metrics_contract_when_unhealthy(unreachable: Invocation) -> None:
    """The alarm and dashboard select exactly these names, units and dimension sets."""
    assert len(unreachable.metrics) == len(COMPONENTS) + 1  # one document per dimension set
    for document in unreachable.metrics:
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        assert abs(document["_aws"]["Timestamp"] / 1000 - time.time()) < 300
        assert document["service"] == SERVICE_NAME
    healthy = unreachable.metric_document(None)
    assert healthy["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert healthy["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [
        {"Name": "Healthy", "Unit": "Count"}
    ]
    assert set(healthy) == {"_aws", "service", "Healthy"}
    assert healthy["Healthy"] == [0.0]
    for name, component in unreachable.report["components"].items():
        document = unreachable.metric_document(name)
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


@pytest.mark.parametrize(
    ("stubbed", "healthy"),
    [(COMPONENTS, True), ({"dynamodb"}, False)],
    ids=["all-healthy", "one-healthy"],
)
def test_metric_values_follow_each_component(
    bundle: Path, tmp_path: Path, stubbed: set[str], healthy: bool
) -> None:
    stubs = [f"ok:{name}" for name in sorted(stubbed)]
    invocation = invoke(bundle, tmp_path, *stubs, endpoint=CLOSED_PORT_URL)
    assert invocation.report["statusCode"] == (200 if healthy else 503)
    assert invocation.report["healthy"] is healthy
    assert invocation.metric_document(None)["Healthy"] == [float(healthy)]
    for name in COMPONENTS:
        expected = float(name in stubbed)
        assert invocation.metric_document(name)["ComponentHealthy"] == [expected], name
    [log] = invocation.logs
    assert log["level"] == ("INFO" if healthy else "WARNING")


def test_one_structured_log_line_with_the_lambda_context(unreachable: Invocation) -> None:
    [log] = unreachable.logs
    assert log["message"] == "DR health check"
    assert log["level"] == "WARNING"
    assert log["service"] == SERVICE_NAME
    assert log["cold_start"] is True
    assert log["function_name"] == "dr-health-check"
    assert log["function_request_id"] == "00000000-0000-4000-8000-000000000000"
    assert log["function_memory_size"] == 256
    assert log["report"] == unreachable.report


class _EchoingEndpoint(BaseHTTPRequestHandler):
    """An AWS endpoint whose errors repeat the request's credentials and signature."""

    def _reject(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        echoed = (
            f"rejected X-Amz-Security-Token: {self.headers.get('X-Amz-Security-Token')}; "
            f"Authorization: {self.headers.get('Authorization')}"
        )
        if "X-Amz-Target" in self.headers:  # DynamoDB's JSON protocol
            content_type = "application/x-amz-json-1.0"
            body = json.dumps({"__type": "ValidationException", "message": echoed})
        else:  # S3's XML errors
            content_type = "application/xml"
            body = f"<Error><Code>InvalidRequest</Code><Message>{escape(echoed)}</Message></Error>"
        self.send_response(400)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


# http.server dispatches on `do_<METHOD>`, names the linter's naming rules would refuse.
for _method in ("GET", "PUT", "POST"):
    setattr(_EchoingEndpoint, f"do_{_method}", _EchoingEndpoint._reject)


@pytest.fixture
def echoing_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_no_secret_in_the_output_when_errors_echo_them(
    bundle: Path, tmp_path: Path, echoing_endpoint: str
) -> None:
    """Errors that repeat the IAM token (in a DSN and as password=), the session token, the
    access key id and the SigV4 signature reach neither the report, the log nor the metrics."""
    invocation = invoke(bundle, tmp_path, "echo-secrets", endpoint=echoing_endpoint)
    components = invocation.report["components"]
    assert {name: c["error"] for name, c in components.items()} == {
        "dynamodb": "ClientError",
        "s3": "InvalidRequest",  # a ClientError subclass S3 models
        "database_writer": "InterfaceError",
        "database_reader": "InterfaceError",
    }
    for name, component in components.items():
        assert "<redacted>" in component["message"], name
    # Still says what failed.
    assert "ValidationException" in components["dynamodb"]["message"]
    assert "postgresql://" in components["database_writer"]["message"]
    for secret in SECRETS:
        assert secret not in invocation.output
    assert not SIGV4_SIGNATURE.search(invocation.output)
    assert "X-Amz-Credential=" not in invocation.output  # the IAM token's query string


def test_sanitize_redacts_each_kind_of_secret(bundle: Path, tmp_path: Path) -> None:
    messages = {
        "postgresql://dr_admin:hunter2@db.example:5432/dr refused": (
            "postgresql://<redacted>@db.example:5432/dr refused"
        ),
        "bad token host:5432/?Action=connect&X-Amz-Signature=abc ok": (
            "bad token host:5432/?<redacted> ok"
        ),
        'auth {"password": "hunter2", "user": "u"}': 'auth {"password": "<redacted>", "user": "u"}',
        "aws_secret_access_key=abc123 region=x": "aws_secret_access_key=<redacted> region=x",
        "key AKIAABCDEFGHIJKLMNOP used": "key <redacted> used",
        f"credentials {SESSION_TOKEN} expired": "credentials <redacted> expired",
        "x" * 400: "x" * 300,
    }
    code = (
        "import json, sys, handler; "
        "print(json.dumps([handler.sanitize(m) for m in json.loads(sys.argv[1])]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(list(messages))],
        check=True,
        env={
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(bundle),
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
        },
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert json.loads(result.stdout) == list(messages.values())


def test_a_check_that_never_answers_is_reported_at_the_deadline(
    bundle: Path, tmp_path: Path
) -> None:
    run = invoke(bundle, tmp_path, "hang:dynamodb", "ok:s3", endpoint=CLOSED_PORT_URL)
    dynamodb = run.report["components"]["dynamodb"]
    assert (dynamodb["healthy"], dynamodb["error"]) == (False, "TimeoutError")
    assert dynamodb["message"] == "no answer within 0.5 s"
    assert 500 <= dynamodb["latency_ms"] < 2000
    assert run.report["components"]["s3"]["healthy"]  # the others report as usual
    assert run.report["statusCode"] == 503
    assert run.seconds < 4  # the report came back before the hanging check would end


class _RecordingDynamoDB(BaseHTTPRequestHandler):
    """A DynamoDB endpoint that records each call's X-Amz-Target and answers it; with
    `slow_first_put` set, the first PutItem waits that long and then fails with a 500, which
    botocore retries."""

    targets: ClassVar[list[str]] = []
    slow_first_put: ClassVar[float] = 0.0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        target = str(self.headers.get("X-Amz-Target"))
        self.targets.append(target)
        status, body = 200, b"{}"
        if self.slow_first_put and target.endswith(".PutItem") and self.targets.count(target) == 1:
            time.sleep(self.slow_first_put)
            status, body = 500, b'{"__type": "InternalServerError", "message": "slow"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def recording_dynamodb(slow_first_put: float = 0.0) -> Iterator[str]:
    _RecordingDynamoDB.targets = []
    _RecordingDynamoDB.slow_first_put = slow_first_put
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingDynamoDB)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def puts() -> list[str]:
    return [t for t in _RecordingDynamoDB.targets if t.endswith(".PutItem")]


def test_a_check_past_the_deadline_writes_no_canary_afterwards(
    bundle: Path, tmp_path: Path
) -> None:
    """Lambda may thaw a check that missed its invocation's deadline during a later one: it
    must not overwrite that invocation's newer canary with its older one."""
    with recording_dynamodb() as endpoint:
        run = invoke(bundle, tmp_path, "late:dynamodb", endpoint=endpoint)
    assert run.report["components"]["dynamodb"]["error"] == "TimeoutError"
    assert run.seconds >= 4  # the late check had its time to run on
    assert puts() == []


def test_a_canary_write_past_the_deadline_is_not_retried(bundle: Path, tmp_path: Path) -> None:
    """A write sent in time but answered after the deadline: botocore's retry would resend the
    same, older canary after the invocation reported, so the retry must not go out."""
    with recording_dynamodb(slow_first_put=3.0) as endpoint:
        run = invoke(bundle, tmp_path, "deadline:2", "ok:s3", endpoint=endpoint)
    assert run.report["components"]["dynamodb"]["error"] == "TimeoutError"
    assert run.seconds >= 4  # time enough for a retry to go out
    assert len(puts()) == 1  # the first attempt, in time; no retry after the report


def test_no_secret_anywhere_in_the_service_stack(dev_service: Template) -> None:
    assert not [
        v
        for v in walk(dev_service.to_json())
        if isinstance(v, str) and v.startswith("secretsmanager:")
    ]
