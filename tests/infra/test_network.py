"""VPC: three AZs, isolated subnets only, gateway endpoints, no NAT, flow logs."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template

from tests.support.synthesis import Synthesis
from tests.support.templates import only, props, resources


def test_subnets_are_isolated_in_the_three_configured_azs(
    synthesis: Synthesis, dev_data: Template
) -> None:
    subnets = resources(dev_data, "AWS::EC2::Subnet")
    assert len(subnets) == 6  # Data and App, one of each per AZ
    zones = sorted(props(subnet)["AvailabilityZone"] for subnet in subnets.values())
    expected = synthesis.stages["dev"].config.availability_zones
    assert zones == sorted(expected * 2)
    assert all(props(s)["MapPublicIpOnLaunch"] is False for s in subnets.values())


def test_no_route_to_the_internet(dev_data: Template) -> None:
    for resource_type in (
        "AWS::EC2::InternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::EIP",
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::EC2::Route",
    ):
        assert resources(dev_data, resource_type) == {}, resource_type


def test_gateway_endpoints_for_s3_and_dynamodb_and_one_interface_endpoint(
    dev_data: Template,
) -> None:
    endpoints = resources(dev_data, "AWS::EC2::VPCEndpoint").values()
    gateways = [props(e) for e in endpoints if props(e).get("VpcEndpointType") != "Interface"]
    services = sorted(str(e["ServiceName"]) for e in gateways)
    assert len(services) == 2
    assert any("dynamodb" in s for s in services) and any(".s3" in s for s in services)
    for endpoint in gateways:
        assert len(endpoint["RouteTableIds"]) == 6
    # The function needs none; the database roles bootstrap needs Secrets Manager's
    # (test_database_roles.py).
    interfaces = [props(e)["ServiceName"] for e in endpoints if props(e) not in gateways]
    assert interfaces == ["com.amazonaws.us-east-1.secretsmanager"]


def test_flow_logs_capture_all_traffic_to_cloudwatch(dev_data: Template) -> None:
    _, flow_log = only(dev_data, "AWS::EC2::FlowLog")
    assert props(flow_log)["TrafficType"] == "ALL"
    assert props(flow_log)["LogDestinationType"] == "cloud-watch-logs"
    dev_data.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})


def test_default_security_group_is_restricted(dev_data: Template) -> None:
    dev_data.has_resource("Custom::VpcRestrictDefaultSG", Match.any_value())
