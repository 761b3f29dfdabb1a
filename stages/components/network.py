"""The stage's VPC: isolated subnets only, no NAT, gateway endpoints, flow logs."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from stages.compliance import (
    accept_inline_grants,
    accept_literal_availability_zones,
    ignore_cfn_lint_literal_az,
)
from stages.components.removal import removal_policy

VPC_CIDR = "10.40.0.0/16"


class Network(Construct):
    """Three-AZ VPC with no route to the internet.

    Nothing here needs the internet: the database, proxy and health-check function talk
    to each other inside the VPC, to S3 and DynamoDB through gateway endpoints, and the
    function signs in to the proxy with an IAM token computed locally (no STS or Secrets
    Manager call). So there are no public subnets and no NAT gateways, which also keeps the
    hourly cost of an idle stage down. The one interface endpoint, Secrets Manager's, belongs
    to its only client, the database roles bootstrap (database_roles.py).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        availability_zones: Sequence[str],
        logs_key: kms.IKey,
        retain_logs: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            availability_zones=list(availability_zones),
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="App", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDb": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
                ),
            },
        )
        accept_literal_availability_zones(self.vpc)
        for subnet in self.vpc.isolated_subnets:
            ignore_cfn_lint_literal_az(subnet.node.default_child)
        self.data_subnets = ec2.SubnetSelection(subnet_group_name="Data")
        self.app_subnets = ec2.SubnetSelection(subnet_group_name="App")

        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=logs_key,
            removal_policy=removal_policy(retain_logs),
        )
        flow_log = self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        accept_inline_grants(flow_log)  # the role that writes the flow logs
