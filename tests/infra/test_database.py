"""Aurora PostgreSQL cluster and the RDS Proxy in front of it."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

from tests.support.synthesis import Synthesis
from tests.support.templates import get_att, logical_id, only, props, ref, resources, walk

DATA_KEY = "EncryptionDataKey4CB32E29"
CLUSTER = "DatabaseCluster5B53A178"


def cluster(template: Template) -> dict[str, Any]:
    return props(only(template, "AWS::RDS::DBCluster")[1])


def test_engine_is_a_creatable_aurora_postgresql_17(dev_data: Template) -> None:
    properties = cluster(dev_data)
    assert properties["Engine"] == "aurora-postgresql"
    # The original pinned 15.3, which RDS no longer creates (cfn-lint W3690).
    assert properties["EngineVersion"].startswith("17.")


def test_cluster_security_settings(dev_data: Template) -> None:
    properties = cluster(dev_data)
    assert properties["StorageEncrypted"] is True
    assert properties["KmsKeyId"] == get_att(DATA_KEY, "Arn")
    assert properties["EnableIAMDatabaseAuthentication"] is True
    assert properties["BackupRetentionPeriod"] == 7
    assert properties["EnableCloudwatchLogsExports"] == ["postgresql"]


def test_master_password_is_managed_and_rotated_by_rds(dev_data: Template) -> None:
    properties = cluster(dev_data)
    assert properties["ManageMasterUserPassword"] is True
    assert properties["MasterUserSecret"] == {"KmsKeyId": get_att(DATA_KEY, "Arn")}
    assert "MasterUserPassword" not in properties
    # No secret resource and no rotation function that would need a path to the internet.
    assert resources(dev_data, "AWS::SecretsManager::Secret") == {}
    assert resources(dev_data, "AWS::SecretsManager::RotationSchedule") == {}


def test_parameter_group_forces_tls(dev_data: Template) -> None:
    _, group = only(dev_data, "AWS::RDS::DBClusterParameterGroup")
    assert props(group)["Family"] == "aurora-postgresql17"
    assert props(group)["Parameters"] == {"rds.force_ssl": "1"}
    assert cluster(dev_data)["DBClusterParameterGroupName"] == ref(
        only(dev_data, "AWS::RDS::DBClusterParameterGroup")[0]
    )


def test_writer_and_reader_in_different_azs(synthesis: Synthesis, dev_data: Template) -> None:
    instances = resources(dev_data, "AWS::RDS::DBInstance")
    writer = synthesis.stages["dev"].data.database.cluster.node.find_child("Writer")
    zones = {name: props(i)["AvailabilityZone"] for name, i in instances.items()}
    assert zones.pop(logical_id(writer)) == "us-east-1a"
    assert list(zones.values()) == ["us-east-1b"]
    assert {props(i)["DBInstanceClass"] for i in instances.values()} == {"db.t4g.medium"}
    assert all(props(i)["PubliclyAccessible"] is False for i in instances.values())


def test_readers_fill_the_other_azs_first(synthesis: Synthesis, prod_data: Template) -> None:
    cluster = synthesis.stages["prod"].data.database.cluster
    zones = {
        name: props(instance)["AvailabilityZone"]
        for name, instance in resources(prod_data, "AWS::RDS::DBInstance").items()
    }
    assert zones == {
        logical_id(cluster.node.find_child("Writer")): "us-east-1d",
        logical_id(cluster.node.find_child("Reader1")): "us-east-1b",
        logical_id(cluster.node.find_child("Reader2")): "us-east-1f",
    }
    classes = {
        props(i)["DBInstanceClass"] for i in resources(prod_data, "AWS::RDS::DBInstance").values()
    }
    assert classes == {"db.r7g.large"}


def test_proxy_requires_tls_and_iam_end_to_end_and_holds_no_secret(dev_data: Template) -> None:
    _, proxy = only(dev_data, "AWS::RDS::DBProxy")
    properties = props(proxy)
    assert properties["RequireTLS"] is True
    assert properties["EngineFamily"] == "POSTGRESQL"
    # Clients sign in to the proxy, and the proxy to the cluster, with IAM tokens: the proxy
    # holds no secret, so no master password is ever used through it.
    assert properties["DefaultAuthScheme"] == "IAM_AUTH"
    assert "Auth" not in properties


def test_the_proxy_may_sign_in_as_the_health_check_user_only(
    synthesis: Synthesis, dev_data: Template
) -> None:
    stage = synthesis.stages["dev"]
    database = stage.data.database
    [policy] = [
        props(p)
        for p in resources(dev_data, "AWS::IAM::Policy").values()
        if props(p)["Roles"] == [ref(database.proxy_role)]
    ]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Action": "rds-db:connect",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        f"arn:aws:rds-db:us-east-1:{stage.config.account}:dbuser:",
                        get_att(database.cluster, "DBClusterResourceId"),
                        "/dr_health",
                    ],
                ]
            },
        }
    ]
    assert database.health_user == "dr_health"


def test_only_the_roles_bootstrap_reads_the_master_secret(
    synthesis: Synthesis, dev_data: Template, dev_service: Template
) -> None:
    """The proxy no longer reads it, and the health check never did: the bootstrap's role
    (and the Secrets Manager endpoint's policy, which names the same role) only."""
    secret = get_att(CLUSTER, "MasterUserSecret.SecretArn")
    bootstrap_role = synthesis.stages["dev"].data.database_roles.function.role
    assert bootstrap_role is not None
    readers = [
        key
        for template in (dev_data, dev_service)
        for key, policy in resources(template, "AWS::IAM::Policy").items()
        if secret in [*walk(props(policy)["PolicyDocument"])]
    ]
    assert readers == [
        logical_id(bootstrap_role.node.find_child("DefaultPolicy")),
    ]


def test_read_only_proxy_endpoint(dev_data: Template) -> None:
    _, endpoint = only(dev_data, "AWS::RDS::DBProxyEndpoint")
    assert props(endpoint)["TargetRole"] == "READ_ONLY"


def _ingress_rules(template: Template) -> list[dict[str, Any]]:
    rules = [props(r) for r in resources(template, "AWS::EC2::SecurityGroupIngress").values()]
    for group in resources(template, "AWS::EC2::SecurityGroup").values():
        rules += props(group).get("SecurityGroupIngress", [])
    return rules


def test_database_admits_only_the_proxy_and_the_roles_bootstrap(
    synthesis: Synthesis, dev_data: Template
) -> None:
    data = synthesis.stages["dev"].data
    to_cluster = [
        rule
        for rule in _ingress_rules(dev_data)
        if rule.get("GroupId") == get_att(data.database.security_group, "GroupId")
    ]
    sources = sorted(
        (json.dumps(rule["SourceSecurityGroupId"]), json.dumps(rule["FromPort"]))
        for rule in to_cluster
    )
    proxy_group = data.database.proxy.connections.security_groups[0]
    assert sources == sorted(
        [
            (
                json.dumps(get_att(proxy_group, "GroupId")),
                json.dumps(get_att(CLUSTER, "Endpoint.Port")),
            ),
            (json.dumps(get_att(data.database_roles.security_group, "GroupId")), "5432"),
        ]
    )
    assert all(rule["FromPort"] == rule["ToPort"] for rule in to_cluster)
    # The original admitted the whole VPC CIDR; nothing admits an address range now.
    assert not [r for r in _ingress_rules(dev_data) if "CidrIp" in r or "CidrIpv6" in r]


def test_the_service_stack_opens_two_database_paths_only(dev_service: Template) -> None:
    """The health check to the proxy, and the restore validator's reader to restored clusters
    (never to the stage's own cluster). Targets are the Data stack's groups, by output."""
    paths = set()
    for rule in _ingress_rules(dev_service):
        assert rule["FromPort"] == rule["ToPort"] == 5432
        [source, _] = rule["SourceSecurityGroupId"]["Fn::GetAtt"]
        target = rule["GroupId"]["Fn::GetStackOutput"]["OutputName"]
        paths.add((source[:-8], target.split("GroupId")[0][:-8]))
    assert paths == {
        ("HealthCheckSecurityGroup", "PublishOutputFnGetAttDatabaseProxySecurityGroup"),
        (
            "RestoreValidatorReaderSecurityGroup",
            "PublishOutputFnGetAttRestoreTestingRestoredClusterSecurityGroup",
        ),
    }
    assert len(_ingress_rules(dev_service)) == 2


def test_prod_cluster_is_protected_and_kept(prod_data: Template, dev_data: Template) -> None:
    prod_cluster = only(prod_data, "AWS::RDS::DBCluster")[1]
    assert prod_cluster["DeletionPolicy"] == "Retain"  # see test_stage.RETAINED_STAGE
    assert prod_cluster["UpdateReplacePolicy"] == "Retain"
    assert props(prod_cluster)["DeletionProtection"] is True
    assert {
        props(i)["DBInstanceClass"] for i in resources(prod_data, "AWS::RDS::DBInstance").values()
    } == {"db.r7g.large"}
    dev_cluster = only(dev_data, "AWS::RDS::DBCluster")[1]
    assert dev_cluster["DeletionPolicy"] == "Delete"
    assert props(dev_cluster)["DeletionProtection"] is False


def test_every_instance_has_enhanced_monitoring(dev_data: Template) -> None:
    instances = resources(dev_data, "AWS::RDS::DBInstance").values()
    assert {props(i)["MonitoringInterval"] for i in instances} == {60}
    [(role_id, role)] = [
        (role_id, role)
        for role_id, role in resources(dev_data, "AWS::IAM::Role").items()
        if "monitoring.rds.amazonaws.com" in json.dumps(props(role)["AssumeRolePolicyDocument"])
    ]
    assert "AmazonRDSEnhancedMonitoringRole" in json.dumps(props(role)["ManagedPolicyArns"])
    for instance in instances:
        assert props(instance)["MonitoringRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
