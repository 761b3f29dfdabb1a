"""The restore validator: reads each restored copy's newest canary, measures RPO and RTO, and
reports the verdict to AWS Backup (lambda/restore_validator). Two functions share one bundle:

- the validator (`handler.handler`), outside the VPC: it calls AWS Backup, RDS, DynamoDB, S3,
  SQS and Lambda, none of which the isolated subnets reach without an endpoint each;
- the database reader (`handler.read_database`), inside the VPC: the only code that reaches a
  restored cluster, through a security group that admits nothing but it. It calls no AWS API
  (the IAM token is signed locally).

Every permission is on the restore tests' own resources: restored tables and buckets are named
`awsbackup-restore-test-*`, restored clusters carry the `awsbackup-restore-test` tag (the
restore testing service role deletes them by it), and the validator's own instances start with
VALIDATION_INSTANCE_PREFIX. No statement reaches the stage's live cluster, table or bucket.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from constructs import Construct

from config import StageConfig
from config.model import STORES
from stages.compliance import MANAGED_POLICY, accept_inline_grants, acknowledge, logical_id
from stages.components.bundling import RESTORE_VALIDATOR_CA_BUNDLE, restore_validator_code
from stages.components.database import Database
from stages.components.health_check import CANARY_OBJECT_KEY, METRICS_NAMESPACE, RUNTIME
from stages.components.network import Network
from stages.components.restore_testing import (
    INSTANCE_DELETE_WAIT,
    INSTANCE_WAIT,
    RestoreTesting,
)
from stages.components.restore_validation import STEP_TIMEOUT, RestoreValidation

# The smallest Aurora PostgreSQL class that takes a direct connection; only reads run on it.
INSTANCE_CLASS = "db.t4g.medium"
INSTANCE_PREFIX = "drv-"
# Between an Aurora validation's steps (SQS's DelaySeconds): a minute between polls.
STEP_DELAY = Duration.minutes(1)
# What AWS Backup names the resources a restore test creates, and tags restored clusters with.
RESTORED_NAME = "awsbackup-restore-test-*"
RESTORED_TAG = "awsbackup-restore-test"
# The reader's own bounds: 5 s to connect, 5 s per statement, plus a cold start.
READER_TIMEOUT = Duration.seconds(30)
# rds and rds-db ARNs separate the resource type and name with a colon.
_COLON = ArnFormat.COLON_RESOURCE_NAME


class RestoreValidator(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        network: Network,
        database: Database,
        restore_testing: RestoreTesting,
        restore_validation: RestoreValidation,
        data_key: kms.IKey,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        # Also the metrics' `service` dimension, which the restore alarms select.
        self.service_name = f"dr-restore-validator-{config.name}"
        self._logs_key = logs_key
        self.reader = self._build_reader(network, database, restore_testing)
        self.function = self._build_validator(config, database, restore_testing, restore_validation)
        self.function.add_event_source(
            sources.SqsEventSource(
                restore_validation.step_queue,
                # One step per invocation: a failed step (the handler raises) is retried, and
                # then parked, on its own.
                batch_size=1,
            )
        )
        restore_validation.step_queue.grant_send_messages(self.function)
        self.reader.grant_invoke(self.function)
        self._grant_restored_resources(data_key)
        self._acknowledge_findings()

    def _log_group(self, construct_id: str) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            construct_id,
            retention=logs.RetentionDays.ONE_YEAR,  # a year of verdicts, for audits
            encryption_key=self._logs_key,
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _build_reader(
        self, network: Network, database: Database, restore_testing: RestoreTesting
    ) -> lambda_.Function:
        self.reader_security_group = ec2.SecurityGroup(
            self,
            "ReaderSecurityGroup",
            vpc=network.vpc,
            description="Restore validator database reader: only to restored clusters",
            allow_all_outbound=False,
        )
        reader = lambda_.Function(
            self,
            "Reader",
            description="DR restore validator: reads a restored cluster's newest canary",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.read_database",
            code=restore_validator_code(),
            memory_size=256,
            timeout=READER_TIMEOUT,
            vpc=network.vpc,
            vpc_subnets=network.app_subnets,
            security_groups=[self.reader_security_group],
            log_group=self._log_group("ReaderLogs"),
            environment={
                "DB_NAME": database.database_name,
                "DB_USER": database.validator_user,
                "DB_CA_BUNDLE": RESTORE_VALIDATOR_CA_BUNDLE,
            },
        )
        reader.connections.allow_to(
            restore_testing.restored_cluster_security_group,
            ec2.Port.tcp(database.port),
            "To clusters restored by restore tests",
        )
        # rds-db:connect as dr_validator on any cluster: a restored cluster's resource id is
        # new, and only restored clusters' security group admits the reader.
        self._reader_user_arn = Stack.of(self).format_arn(
            service="rds-db",
            resource="dbuser",
            resource_name=f"*/{database.validator_user}",
            arn_format=_COLON,
        )
        reader.add_to_role_policy(
            iam.PolicyStatement(actions=["rds-db:connect"], resources=[self._reader_user_arn])
        )
        return reader

    def _build_validator(
        self,
        config: StageConfig,
        database: Database,
        restore_testing: RestoreTesting,
        restore_validation: RestoreValidation,
    ) -> lambda_.Function:
        targets: dict[str, str] = {}
        for store in STORES:
            rpo, rto = config.rpo_target(store), config.rto_target(store)
            targets[f"TARGET_RPO_SECONDS_{store.upper()}"] = str(int(rpo.total_seconds()))
            targets[f"TARGET_RTO_SECONDS_{store.upper()}"] = str(int(rto.total_seconds()))
        return lambda_.Function(
            self,
            "Function",
            description="DR restore validator: proves each restore test and measures RPO/RTO",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            code=restore_validator_code(),
            memory_size=256,
            timeout=STEP_TIMEOUT,
            log_group=self._log_group("Logs"),
            environment={
                "STEP_QUEUE_URL": restore_validation.step_queue.queue_url,
                "RESTORE_TESTING_PLAN_ARN": restore_testing.plan_arn,
                "CANARY_OBJECT_KEY": CANARY_OBJECT_KEY,
                "DB_NAME": database.database_name,
                "DB_PORT": str(database.port),
                "DB_USER": database.validator_user,
                "DB_CA_BUNDLE": RESTORE_VALIDATOR_CA_BUNDLE,
                "DB_READER_FUNCTION": self.reader.function_name,
                "VALIDATION_INSTANCE_CLASS": INSTANCE_CLASS,
                "VALIDATION_INSTANCE_PREFIX": INSTANCE_PREFIX,
                "STEP_DELAY_SECONDS": str(int(STEP_DELAY.to_seconds())),
                "INSTANCE_WAIT_SECONDS": str(int(INSTANCE_WAIT.total_seconds())),
                "INSTANCE_DELETE_WAIT_SECONDS": str(int(INSTANCE_DELETE_WAIT.total_seconds())),
                **targets,
                "POWERTOOLS_SERVICE_NAME": self.service_name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            },
        )

    def _grant_restored_resources(self, data_key: kms.IKey) -> None:
        stack = Stack.of(self)

        def rds(resource: str, name: str) -> str:
            return stack.format_arn(
                service="rds", resource=resource, resource_name=name, arn_format=_COLON
            )

        instances = rds("db", f"{INSTANCE_PREFIX}*")
        statements = [
            # No resource types: the job is named in the request (Service Authorization Ref.).
            iam.PolicyStatement(
                actions=["backup:DescribeRestoreJob", "backup:PutRestoreValidationResult"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                actions=["rds:DescribeDBClusters"], resources=[rds("cluster", "*")]
            ),
            # CreateDBInstance is authorized on the new instance, its cluster and the groups it
            # inherits; only a restored cluster (by AWS Backup's tag) may get one.
            iam.PolicyStatement(
                actions=["rds:CreateDBInstance"],
                resources=[rds("cluster", "*")],
                conditions={"Null": {f"aws:ResourceTag/{RESTORED_TAG}": "false"}},
            ),
            iam.PolicyStatement(
                actions=["rds:CreateDBInstance"],
                resources=[instances, rds("pg", "*"), rds("og", "*"), rds("subgrp", "*")],
            ),
            iam.PolicyStatement(
                # AddTagsToResource: CreateDBInstance's Tags are authorized on it too.
                actions=[
                    "rds:AddTagsToResource",
                    "rds:DescribeDBInstances",
                    "rds:DeleteDBInstance",
                ],
                resources=[instances],
            ),
            iam.PolicyStatement(
                actions=["dynamodb:GetItem"],
                resources=[
                    stack.format_arn(
                        service="dynamodb", resource="table", resource_name=RESTORED_NAME
                    )
                ],
            ),
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[f"arn:{stack.partition}:s3:::{RESTORED_NAME}/{CANARY_OBJECT_KEY}"],
            ),
            # An instance in a cluster encrypted with the data key: RDS creates a grant on it.
            iam.PolicyStatement(
                actions=["kms:CreateGrant", "kms:DescribeKey"],
                resources=[data_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"rds.{Aws.REGION}.amazonaws.com"},
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                },
            ),
        ]
        for statement in statements:
            self.function.add_to_role_policy(statement)
        # Each statement above that names a pattern is acknowledged, pattern by pattern.
        self._validator_patterns = sorted(
            {arn for statement in statements for arn in statement.resources if "*" in arn}
        )
        # Restored tables and buckets are encrypted with the data key (the selections' overrides).
        data_key.grant_decrypt(self.function)

    def _acknowledge_findings(self) -> None:
        accept_inline_grants(self.function, self.reader)
        basic = "AwsSolutions-IAM4[Policy::" + MANAGED_POLICY.format(
            "service-role/AWSLambdaBasicExecutionRole"
        )
        vpc_access = "AwsSolutions-IAM4[Policy::" + MANAGED_POLICY.format(
            "service-role/AWSLambdaVPCAccessExecutionRole"
        )
        reason_managed = (
            "The execution role needs CloudWatch Logs (and, in the VPC, network-interface) "
            "permissions; these AWS policies are the documented minimum."
        )
        acknowledge(self.function, reason_managed, basic + "]")
        acknowledge(self.reader, reason_managed, basic + "]", vpc_access + "]")
        acknowledge(
            self.function,
            "Outside the VPC by design: it calls AWS Backup, RDS, DynamoDB, S3, SQS and Lambda, "
            "which the isolated subnets reach only through one interface endpoint each; it "
            "never connects to a database (the reader in the VPC does).",
            "NIST.800.53.R5-LambdaInsideVPC",
        )
        acknowledge(
            self.function,
            "Invoked by its SQS event source only: a step that keeps failing is moved by the "
            "queue's redrive policy to the stage's dead letters (which alarm), so a function "
            "dead-letter queue would never receive anything. No reserved concurrency: a "
            "reservation fails the deploy in accounts with a low concurrency quota, and a few "
            "restore tests a day need little.",
            "NIST.800.53.R5-LambdaDLQ",
            "NIST.800.53.R5-LambdaConcurrency",
        )
        acknowledge(
            self.reader,
            "Invoked synchronously by the validator only, which makes a failed read its "
            "verdict's reason: a dead-letter queue would never receive anything, and a "
            "concurrency reservation would guard nothing.",
            "NIST.800.53.R5-LambdaDLQ",
            "NIST.800.53.R5-LambdaConcurrency",
        )
        acknowledge(
            self.reader,
            "A restored cluster's resource id is new on every test: the token may sign in only "
            "as dr_validator (SELECT on dr_canary), and only restored clusters admit the reader.",
            f"AwsSolutions-IAM5[Resource::{self._reader_user_arn}]",
        )
        acknowledge(
            self.function,
            "The restore tests' resources are new on every test and named by AWS Backup: "
            "restored tables and buckets awsbackup-restore-test-* (the bucket only its canary "
            "object), restored clusters by AWS Backup's tag (a condition), and the validator's "
            "own instances drv-*. CreateDBInstance also authorizes the groups an instance "
            "inherits from its cluster (pg, og, subgrp), which alone create nothing. AWS "
            "Backup's DescribeRestoreJob and PutRestoreValidationResult have no resource types. "
            "The reader may be invoked as itself and its versions (CDK's grant, ARN:*).",
            *(f"AwsSolutions-IAM5[Resource::{arn}]" for arn in self._validator_patterns),
            f"AwsSolutions-IAM5[Resource::<{logical_id(self.reader)}.Arn>:*]",
        )
