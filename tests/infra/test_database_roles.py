"""The database roles bootstrap: a custom resource that runs roles.sql in the stage's VPC, its
least privilege (the master secret, the cluster and the Secrets Manager endpoint only) and its
bundled code."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from stages.components.database_roles import DatabaseRoles
from tests.support.synthesis import ROOT, Synthesis
from tests.support.templates import get_att, logical_id, only, props, ref, resource_of, resources

SQL = ROOT / "lambda" / "db_bootstrap" / "roles.sql"


@pytest.fixture(scope="module")
def roles(synthesis: Synthesis) -> DatabaseRoles:
    return synthesis.stages["dev"].data.database_roles


def group_id(construct: Any) -> dict[str, list[str]]:
    return get_att(construct, "GroupId")


def test_the_custom_resource_names_the_cluster_the_secret_the_roles_and_the_sql(
    synthesis: Synthesis, roles: DatabaseRoles, dev_data: Template
) -> None:
    database = synthesis.stages["dev"].data.database
    resource = resource_of(dev_data, roles.resource)
    assert resource["Type"] == "Custom::DatabaseRoles"
    assert props(resource) == {
        "ServiceToken": get_att(roles.provider.node.find_child("framework-onEvent"), "Arn"),
        "Host": get_att(database.cluster, "Endpoint.Address"),  # the writer, not the proxy
        "Port": "5432",
        "Database": "dr",
        "SecretArn": get_att(database.cluster, "MasterUserSecret.SecretArn"),
        "HealthUser": "dr_health",
        "ValidatorUser": "dr_validator",
        # A changed roles.sql changes the template, so CloudFormation runs it again.
        "SqlSha256": hashlib.sha256(SQL.read_bytes()).hexdigest(),
    }
    assert (roles.health_user, roles.validator_user) == ("dr_health", "dr_validator")
    assert (database.health_user, database.validator_user) == ("dr_health", "dr_validator")
    # Nothing runs on Delete that could fail a teardown, and the roles and data stay.
    assert resource.get("DeletionPolicy", "Delete") == "Delete"


def test_it_runs_once_the_writer_is_up_and_its_network_path_open(
    synthesis: Synthesis, roles: DatabaseRoles, dev_data: Template
) -> None:
    database = synthesis.stages["dev"].data.database
    depends_on = set(resource_of(dev_data, roles.resource)["DependsOn"])
    writer = database.cluster.node.find_child("Writer")
    assert {logical_id(writer), logical_id(database.cluster), logical_id(roles.endpoint)} <= (
        depends_on
    )
    rules = {
        key
        for kind in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")
        for key, rule in resources(dev_data, kind).items()
        if group_id(roles.security_group) in (props(rule).get("SourceSecurityGroupId"),)
        or props(rule)["GroupId"] == group_id(roles.security_group)
    }
    assert len(rules) == 4  # its two egress rules, and the cluster's and endpoint's ingress
    assert rules <= depends_on


def test_the_function_runs_in_the_app_subnets_with_its_own_security_group(
    roles: DatabaseRoles, dev_data: Template
) -> None:
    function = props(resource_of(dev_data, roles.function))
    assert function["Runtime"] == "python3.14"
    assert function["Architectures"] == ["arm64"]
    assert function["Handler"] == "db_bootstrap.handler"
    assert function["Timeout"] == 90
    assert function["Environment"]["Variables"] == {"DB_CA_BUNDLE": "rds-ca-bundle.pem"}
    subnets = json.dumps(function["VpcConfig"]["SubnetIds"])
    assert subnets.count("NetworkVpcAppSubnet") == 3 and "DataSubnet" not in subnets
    assert function["VpcConfig"]["SecurityGroupIds"] == [group_id(roles.security_group)]
    logs = props(resource_of(dev_data, roles.log_group))
    assert logs["RetentionInDays"] == 30 and "KmsKeyId" in logs
    assert function["LoggingConfig"]["LogGroup"] == ref(roles.log_group)


def test_its_only_egress_is_the_cluster_and_the_secrets_manager_endpoint(
    synthesis: Synthesis, roles: DatabaseRoles, dev_data: Template
) -> None:
    database = synthesis.stages["dev"].data.database
    group = props(resource_of(dev_data, roles.security_group))
    # No inline rule: CloudFormation drops the default allow-all once a rule of its own exists.
    assert "SecurityGroupEgress" not in group
    egress = sorted(
        (json.dumps(props(rule)["DestinationSecurityGroupId"]), props(rule)["FromPort"])
        for rule in resources(dev_data, "AWS::EC2::SecurityGroupEgress").values()
        if props(rule)["GroupId"] == group_id(roles.security_group)
    )
    endpoint_group = roles.endpoint.connections.security_groups[0]
    assert egress == sorted(
        [
            (json.dumps(group_id(database.security_group)), 5432),
            (json.dumps(group_id(endpoint_group)), 443),
        ]
    )


def test_the_secrets_manager_endpoint_serves_only_the_bootstrap_and_only_the_secret(
    synthesis: Synthesis, roles: DatabaseRoles, dev_data: Template
) -> None:
    endpoint = props(resource_of(dev_data, roles.endpoint))
    assert endpoint["VpcEndpointType"] == "Interface"
    assert endpoint["ServiceName"] == "com.amazonaws.us-east-1.secretsmanager"
    assert endpoint["PrivateDnsEnabled"] is True  # the SDK's usual hostname resolves to it
    # One subnet (billed per AZ-hour): the App subnet of the first AZ.
    network = synthesis.stages["dev"].data.network
    [first_app] = [s for s in network.vpc.isolated_subnets if "App" in s.node.path][:1]
    assert endpoint["SubnetIds"] == [ref(first_app)]
    assert first_app.availability_zone == "us-east-1a"
    [endpoint_group] = roles.endpoint.connections.security_groups
    assert endpoint["SecurityGroupIds"] == [group_id(endpoint_group)]
    role = roles.function.role
    assert role is not None
    assert endpoint["PolicyDocument"]["Statement"] == [
        {
            "Action": "secretsmanager:GetSecretValue",
            "Effect": "Allow",
            "Principal": {"AWS": get_att(role, "Arn")},
            "Resource": get_att(
                synthesis.stages["dev"].data.database.cluster, "MasterUserSecret.SecretArn"
            ),
        }
    ]
    group = props(resource_of(dev_data, endpoint_group))
    assert group["SecurityGroupEgress"][0]["Description"] == "Disallow all traffic"
    assert "SecurityGroupIngress" not in group  # not the VPC's CIDR
    [ingress] = [
        props(rule)
        for rule in resources(dev_data, "AWS::EC2::SecurityGroupIngress").values()
        if props(rule)["GroupId"] == group_id(endpoint_group)
    ]
    assert ingress["SourceSecurityGroupId"] == group_id(roles.security_group)
    assert (ingress["FromPort"], ingress["ToPort"]) == (443, 443)


def test_the_function_may_read_the_master_secret_and_nothing_else(
    synthesis: Synthesis, roles: DatabaseRoles, dev_data: Template
) -> None:
    database = synthesis.stages["dev"].data.database
    role = roles.function.role
    assert role is not None
    secret = get_att(database.cluster, "MasterUserSecret.SecretArn")
    [policy] = [
        props(p)
        for p in resources(dev_data, "AWS::IAM::Policy").values()
        if props(p)["Roles"] == [ref(role)]
    ]
    assert policy["PolicyDocument"]["Statement"] == [
        {"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": secret},
        {
            # The data key also encrypts every store: only through Secrets Manager, for this
            # secret.
            "Action": "kms:Decrypt",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": secret,
                }
            },
            "Effect": "Allow",
            "Resource": get_att(database.key, "Arn"),
        },
    ]
    managed = json.dumps(props(resource_of(dev_data, role))["ManagedPolicyArns"])
    assert "AWSLambdaBasicExecutionRole" in managed
    assert "AWSLambdaVPCAccessExecutionRole" in managed


def test_the_provider_framework_may_only_invoke_the_bootstrap(
    roles: DatabaseRoles, dev_data: Template
) -> None:
    framework = roles.provider.node.find_child("framework-onEvent")
    function = props(resource_of(dev_data, framework))
    assert "VpcConfig" not in function  # it calls the Lambda API and CloudFormation's URL
    assert function["LoggingConfig"]["LogGroup"] == ref(
        roles.node.find_child("ProviderLogs")  # encrypted, 30 days
    )
    role = framework.node.find_child("ServiceRole")
    [policy] = [
        props(p)
        for p in resources(dev_data, "AWS::IAM::Policy").values()
        if props(p)["Roles"] == [ref(role)]
    ]
    targets = json.dumps(policy["PolicyDocument"]["Statement"])
    assert logical_id(roles.function) in targets
    for statement in policy["PolicyDocument"]["Statement"]:
        assert statement["Action"] in ("lambda:InvokeFunction", "lambda:GetFunction")


def asset_dir(synthesis: Synthesis, roles: DatabaseRoles, template: Template) -> Path:
    key = props(resource_of(template, roles.function))["Code"]["S3Key"]
    return synthesis.outdir / f"asset.{key.removesuffix('.zip')}"


def test_the_bundle_holds_the_handler_the_sql_the_rds_cas_and_pg8000_only(
    synthesis: Synthesis, roles: DatabaseRoles, dev_data: Template
) -> None:
    bundle = asset_dir(synthesis, roles, dev_data)
    assert (bundle / "db_bootstrap.py").read_bytes() == (
        ROOT / "lambda" / "db_bootstrap" / "db_bootstrap.py"
    ).read_bytes()
    assert (bundle / "roles.sql").read_bytes() == SQL.read_bytes()
    assert (bundle / "rds-ca-bundle.pem").read_bytes() == (
        ROOT / "build" / "rds-ca-bundle.pem"
    ).read_bytes()
    for package in ("pg8000", "scramp", "asn1crypto", "dateutil"):
        assert (bundle / package / "__init__.py").is_file(), package
    assert (bundle / "six.py").is_file()
    # Only what pg8000 needs: not the health check's Powertools, nor the runtime's SDK.
    top_level = {p.name for p in bundle.iterdir() if not p.name.endswith(".dist-info")}
    assert top_level == {
        "db_bootstrap.py",
        "roles.sql",
        "rds-ca-bundle.pem",
        "pg8000",
        "scramp",
        "asn1crypto",
        "dateutil",
        "six.py",
    }
    assert not list(bundle.rglob("__pycache__"))


def test_every_stage_has_it(prod_data: Template) -> None:
    _, resource = only(prod_data, "Custom::DatabaseRoles")
    assert props(resource)["HealthUser"] == "dr_health"
