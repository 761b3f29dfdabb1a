"""The health-check function: runtime, network placement, least privilege, bundled code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from tests.conftest import Synthesis, only, props, resources, walk

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
    assert ":dbuser:" in text and "/dr_admin" in text
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
    assert not list(bundle.rglob("__pycache__"))


def test_bundled_handler_reports_every_store_unhealthy_when_nothing_answers(
    synthesis: Synthesis, dev_service: Template, tmp_path: Path
) -> None:
    """The real handler from the synthesized asset, in its own process: no store reachable
    (closed loopback ports), so every component is reported unhealthy, none silently ok."""
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(asset_dir(synthesis, dev_service)),
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "TABLE_NAME": "table",
        "BUCKET_NAME": "bucket",
        "CANARY_OBJECT_KEY": CANARY_OBJECT_KEY,
        "DB_ENDPOINT": "127.0.0.1",
        "DB_READER_ENDPOINT": "127.0.0.1",
        "DB_PORT": "9",
        "DB_NAME": "dr",
        "DB_USER": "dr_admin",
    }
    code = "import json, handler; print(json.dumps(handler.handler({}, None)))"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["statusCode"] == 503
    assert report["healthy"] is False
    assert set(report["components"]) == {"dynamodb", "s3", "database_writer", "database_reader"}
    for name, component in report["components"].items():
        assert component["healthy"] is False, name
        assert component["error"] and component["message"], name
        assert component["latency_ms"] >= 0
        assert "testing" not in component["message"]  # no credential leaks into reports
    assert elapsed < 30  # bounded by the per-check timeouts, not the Lambda timeout


def test_no_secret_anywhere_in_the_service_stack(dev_service: Template) -> None:
    assert not [
        v
        for v in walk(dev_service.to_json())
        if isinstance(v, str) and v.startswith("secretsmanager:")
    ]
