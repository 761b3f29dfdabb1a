"""The health-check function: inside the VPC, least privilege to the table, bucket and proxy."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stages.compliance import KMS_FAMILIES, MANAGED_POLICY, accept_inline_grants, acknowledge
from stages.components.bucket import Bucket
from stages.components.bundling import ROOT, python_code
from stages.components.database import Database
from stages.components.dead_letters import DeadLetters
from stages.components.network import Network
from stages.components.table import Table

SOURCE = ROOT / "lambda" / "health_check"
RUNTIME = lambda_.Runtime.PYTHON_3_14
# The one S3 object the function may read and write (the handler gets it from its environment).
CANARY_OBJECT_KEY = "health-check/canary.json"
# The handler's metrics (embedded metric format, extracted from its logs by CloudWatch): the
# alarm and dashboard read exactly these names and dimensions.
METRICS_NAMESPACE = "DisasterRecovery"
COMPONENTS = ("dynamodb", "s3", "database_writer", "database_reader")
SCHEDULE = Duration.minutes(5)


class HealthCheck(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: Network,
        database: Database,
        table: Table,
        bucket: Bucket,
        logs_key: kms.IKey,
        dead_letters: DeadLetters,
        stage_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        # Also the metrics' `service` dimension: one series per stage, even in a shared account.
        self.service_name = f"dr-health-check-{stage_name}"
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=network.vpc,
            description="Health-check function",
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
            description="DR stage health check: DynamoDB, S3, Aurora writer and reader",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            # The handler, its package and every dependency `make` installed for it.
            code=python_code(SOURCE),
            memory_size=256,
            timeout=Duration.seconds(30),
            vpc=network.vpc,
            vpc_subnets=network.app_subnets,
            security_groups=[self.security_group],
            log_group=self.log_group,
            # A scheduled run is not retried (the next is 5 minutes away): a run that failed
            # goes to the dead letters at once, and the errors alarm fires.
            retry_attempts=0,
            dead_letter_queue=dead_letters.queue,
            environment={
                "TABLE_NAME": table.table.table_name,
                "BUCKET_NAME": bucket.bucket.bucket_name,
                # The canary proves the bucket still encrypts with the stage's key.
                "BUCKET_KEY_ARN": bucket.key.key_arn,
                "DB_ENDPOINT": database.proxy.endpoint,
                "DB_READER_ENDPOINT": database.reader_endpoint.endpoint,
                "DB_PORT": str(database.port),
                "DB_NAME": database.database_name,
                "DB_USER": database.health_user,
                "CANARY_OBJECT_KEY": CANARY_OBJECT_KEY,
                "POWERTOOLS_SERVICE_NAME": self.service_name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            },
        )
        # The proxy (both endpoints share its security group) and, over HTTPS, the S3 and
        # DynamoDB gateway endpoints: isolated subnets have no route anywhere else, and the
        # gateway endpoints' prefix lists cannot be resolved at synth time without a lookup.
        self.function.connections.allow_to(
            database.proxy, ec2.Port.tcp(database.port), "To the RDS Proxy"
        )
        self.function.connections.allow_to(
            ec2.Peer.any_ipv4(), ec2.Port.HTTPS, "S3 and DynamoDB gateway endpoints"
        )
        table.table.grant(self.function, "dynamodb:PutItem", "dynamodb:GetItem")
        table.key.grant_encrypt_decrypt(self.function)
        bucket.bucket.grant_put(self.function, CANARY_OBJECT_KEY)
        bucket.bucket.grant_read(self.function, CANARY_OBJECT_KEY)
        database.proxy.grant_connect(self.function, database.health_user)

        self._acknowledge_function_findings()

        # The DR posture every few minutes, not only at release. A missed run is not retried:
        # the next one is minutes away, and a gap in the metric raises the health alarm.
        self.schedule = events.Rule(
            self,
            "Schedule",
            description="Run the DR health check",
            schedule=events.Schedule.rate(SCHEDULE),
            targets=[
                targets.LambdaFunction(
                    self.function, retry_attempts=0, dead_letter_queue=dead_letters.queue
                )
            ],
        )

    def _acknowledge_function_findings(self) -> None:
        accept_inline_grants(self.function)
        acknowledge(
            self.function,
            "No reserved concurrency: a reservation fails the deploy in accounts whose Lambda "
            "concurrency quota is low (new accounts get 10), and the check needs little: one "
            "run every 5 minutes, each bounded by its 8 s deadline.",
            "NIST.800.53.R5-LambdaConcurrency",
        )
        acknowledge(
            self.function,
            "The health check's execution role needs CloudWatch Logs and VPC network-interface "
            "permissions; these AWS policies are the documented minimum for a Lambda in a VPC.",
            "AwsSolutions-IAM4[Policy::"
            + MANAGED_POLICY.format("service-role/AWSLambdaBasicExecutionRole")
            + "]",
            "AwsSolutions-IAM4[Policy::"
            + MANAGED_POLICY.format("service-role/AWSLambdaVPCAccessExecutionRole")
            + "]",
        )
        acknowledge(
            self.function,
            "CDK's S3 and KMS grants use action families; every statement is scoped to the one "
            "canary object or the one data key ARN, so no other resource is reachable.",
            *(f"AwsSolutions-IAM5[Action::{action}]" for action in KMS_FAMILIES),
            "AwsSolutions-IAM5[Action::s3:Abort*]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
        )

    def metric_healthy(self) -> cloudwatch.Metric:
        """1 when every component was healthy in a run, else 0; Minimum catches any failed run."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="Healthy",
            dimensions_map={"service": self.service_name},
            statistic=cloudwatch.Stats.MINIMUM,
            period=SCHEDULE,
        )

    def metric_component_latency(self, component: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="ComponentLatency",
            dimensions_map={"service": self.service_name, "Component": component},
            statistic=cloudwatch.Stats.p(95),
            period=SCHEDULE,
            label=component,
        )
