"""The health-check function: runtime, network placement, least privilege, bundled code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from tests.support.synthesis import Synthesis
from tests.support.templates import props, resources, template_json, walk

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
    assert variables["DB_USER"] == "dr_health"  # not the master user
    assert "ProxyReaderEndpoint" in json.dumps(variables["DB_READER_ENDPOINT"])


def test_the_canary_key_is_the_buckets_own(dev_service: Template, dev_data: Template) -> None:
    """BUCKET_KEY_ARN, which the S3 check compares with what S3 reports, is the very key the
    bucket encrypts with (locally, moto's key stands in, so only the template can show it)."""
    variable = function(dev_service)["Environment"]["Variables"]["BUCKET_KEY_ARN"]
    output = variable["Fn::GetStackOutput"]
    assert output["StackName"] == "Dev-Data"
    exported = template_json(dev_data)["Outputs"][output["OutputName"]]["Value"]
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
    # arn:...:dbuser:<the proxy's resource id, prx-..., the 7th field of its ARN>/dr_health:
    # the least-privilege role, never the master user.
    [(head, resource_id, tail)] = [connect["Resource"]["Fn::Join"][1]]
    assert re.fullmatch(r"arn:aws:rds-db:us-east-1:\d{12}:dbuser:", head), head
    assert tail == "/dr_health"
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
    [egress] = [
        props(e)
        for k, e in resources(dev_service, "AWS::EC2::SecurityGroupEgress").items()
        if k.startswith("HealthCheck")
    ]
    assert (egress["FromPort"], egress["ToPort"]) == (5432, 5432)
    assert "DestinationSecurityGroupId" in egress


def test_logs_have_retention(dev_service: Template) -> None:
    [group] = [
        g
        for k, g in resources(dev_service, "AWS::Logs::LogGroup").items()
        if k.startswith("HealthCheck")
    ]
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


def test_no_secret_anywhere_in_the_service_stack(dev_service: Template) -> None:
    assert not [
        v
        for v in walk(template_json(dev_service))
        if isinstance(v, str) and v.startswith("secretsmanager:")
    ]
