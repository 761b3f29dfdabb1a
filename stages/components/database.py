"""Aurora PostgreSQL (writer + readers across AZs) behind an RDS Proxy that requires TLS and IAM,
end to end: clients sign in to the proxy, and the proxy to the cluster, with IAM tokens."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, ReferenceStrength, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from config import DatabaseConfig
from stages.compliance import (
    INLINE_GRANTS,
    MANAGED_POLICY,
    accept_inline_grants,
    accept_literal_availability_zones,
    acknowledge,
    ignore_cfn_lint_literal_az,
)
from stages.components.network import Network
from stages.components.removal import protected_removal_policy, removal_policy

# Aurora PostgreSQL 17 is in standard support (no extended-support charges) and creatable.
ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_7
DATABASE_NAME = "dr"
# The RDS-managed master user: only the roles bootstrap (database_roles.py) signs in as it.
MASTER_USER = "dr_admin"
# The least-privilege roles the bootstrap creates (IAM authentication only, rds_iam): the health
# check's, which may read and write dr_canary, and the restore validator's, which may read it.
# Roles live in the database, so every backup, and every restored copy, has them.
HEALTH_USER = "dr_health"
VALIDATOR_USER = "dr_validator"
PORT = 5432


class Database(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: Network,
        key: kms.IKey,
        config: DatabaseConfig,
        availability_zones: Sequence[str],
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        engine = rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION)
        vpc = network.vpc

        # Clients without TLS are refused by the server itself, not only by the proxy.
        parameter_group = rds.ParameterGroup(
            self,
            "Parameters",
            engine=engine,
            description="DR cluster: TLS required",
            parameters={"rds.force_ssl": "1"},
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "ClusterSecurityGroup",
            vpc=vpc,
            description="Aurora cluster: admits only the RDS Proxy",
            allow_all_outbound=False,
        )

        writer_zone, *reader_zones = availability_zones
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=engine,
            writer=rds.ClusterInstance.provisioned(
                "Writer",
                instance_type=ec2.InstanceType(config.instance_class),
                availability_zone=writer_zone,
            ),
            readers=[
                rds.ClusterInstance.provisioned(
                    f"Reader{index + 1}",
                    instance_type=ec2.InstanceType(config.instance_class),
                    # Readers fill the other AZs first, so a reader is never the writer's AZ
                    # while there is another one.
                    availability_zone=reader_zones[index % len(reader_zones)],
                    promotion_tier=1,
                )
                for index in range(config.reader_count)
            ],
            vpc=vpc,
            vpc_subnets=network.data_subnets,
            security_groups=[self.security_group],
            port=PORT,
            default_database_name=DATABASE_NAME,
            credentials=rds.Credentials.from_username(MASTER_USER, encryption_key=key),
            # RDS creates the secret and rotates it itself (every 7 days): no rotation function
            # and no path to the internet. Only the roles bootstrap reads it.
            manage_master_user_password=True,
            storage_encryption_key=key,
            iam_authentication=True,
            parameter_group=parameter_group,
            backup=rds.BackupProps(retention=Duration.days(7), preferred_window="03:00-04:00"),
            preferred_maintenance_window="Sun:04:30-Sun:05:30",
            # Enhanced monitoring: the OS's own metrics (per process, memory, I/O) every
            # minute, into CloudWatch Logs (RDSOSMetrics), for diagnosing a slow failover.
            monitoring_interval=Duration.minutes(1),
            cloudwatch_logs_exports=["postgresql"],
            cloudwatch_logs_retention=logs.RetentionDays.ONE_MONTH,
            copy_tags_to_snapshot=True,
            deletion_protection=retain,
            # Not Snapshot: RDS refuses to delete a protected cluster, so CloudFormation could
            # neither delete it nor roll back its failed creation (removal.py).
            removal_policy=protected_removal_policy(retain),
        )

        # CDK gives the instances the cluster's policy. They have no deletion protection of
        # their own, so a failed first create may delete them; a kept cluster without
        # instances costs only its (empty) storage.
        for child in self.cluster.node.children:
            instance = child.node.default_child
            if isinstance(instance, rds.CfnDBInstance):
                instance.apply_removal_policy(removal_policy(retain))

        self.key = key
        secret = self.cluster.secret
        assert secret is not None  # manage_master_user_password always exposes one
        self.master_secret = secret

        self.proxy_role = iam.Role(
            self,
            "ProxyRole",
            assumed_by=iam.ServicePrincipal("rds.amazonaws.com"),
            description="RDS Proxy: signs in to the cluster with IAM as the health check's user",
        )
        # End-to-end IAM (DefaultAuthScheme IAM_AUTH): the proxy signs in to the cluster with
        # an IAM token for the client's user, so it holds no secret at all; RDS documents it for
        # Aurora PostgreSQL (the user needs rds_iam, the proxy's role rds-db:connect on
        # dbuser:<cluster resource id>/<user>). Client connections need an IAM token too.
        self.proxy = rds.DatabaseProxy(
            self,
            "Proxy",
            proxy_target=rds.ProxyTarget.from_cluster(self.cluster),
            default_auth_scheme=rds.DefaultAuthScheme.IAM_AUTH,
            role=self.proxy_role,
            vpc=vpc,
            vpc_subnets=network.data_subnets,
            security_groups=[
                ec2.SecurityGroup(
                    self,
                    "ProxySecurityGroup",
                    vpc=vpc,
                    description="RDS Proxy: admits only the health-check function",
                    allow_all_outbound=False,
                )
            ],
            require_tls=True,
        )
        # Only the health check's user: nobody signs in as the master user through the proxy.
        self.cluster.grant_connect(self.proxy_role, HEALTH_USER)
        # grant_connect splits the proxy ARN with Fn::Split, which accepts Fn::ImportValue
        # but not the weak Fn::GetStackOutput: consumers must import the proxy strongly.
        self.proxy.apply_cross_stack_reference_strength(ReferenceStrength.STRONG)
        # The proxy target adds the cluster's ingress rule from the proxy's group; the roles
        # bootstrap adds the only other one.

        self._acknowledge_findings(retain)

        self.reader_endpoint = self.proxy.add_endpoint(
            "ReaderEndpoint",
            vpc=vpc,
            vpc_subnets=network.data_subnets,
            security_groups=self.proxy.connections.security_groups,
            target_role=rds.ProxyEndpointTargetRole.READ_ONLY,
        )

    def _acknowledge_findings(self, retain: bool) -> None:
        accept_literal_availability_zones(self.cluster)
        for child in self.cluster.node.children:
            ignore_cfn_lint_literal_az(child.node.default_child)
        accept_inline_grants(self.proxy_role)
        if not retain:
            acknowledge(
                self.cluster,
                "Removal posture 'destroy': the stage is torn down and rebuilt freely; every "
                "retained stage has deletion protection on.",
                "AwsSolutions-RDS10",
                "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled",
            )
        acknowledge(
            self.cluster,
            "Aurora is backed up per cluster: the cluster is in the stage's AWS Backup plan "
            "(continuous backup); an Aurora instance cannot be selected on its own. The rule "
            "looks for each instance in a selection.",
            "NIST.800.53.R5-RDSInBackupPlan",
        )
        acknowledge(
            self.cluster,
            "RDS's documented role for enhanced monitoring: it lets RDS write OS metrics to "
            "CloudWatch Logs (RDSOSMetrics), nothing else.",
            "AwsSolutions-IAM4[Policy::"
            + MANAGED_POLICY.format("service-role/AmazonRDSEnhancedMonitoringRole")
            + "]",
        )
        acknowledge(
            self.security_group,
            "The cluster's only ingress: PostgreSQL's port from the RDS Proxy's security group. "
            "The rules cannot read a port that CloudFormation resolves (they raise an error).",
            "NIST.800.53.R5-EC2RestrictedCommonPorts",
            "NIST.800.53.R5-EC2RestrictedSSH",
        )
        # CDK's LogRetention provider (one per stack), created for cloudwatch_logs_retention,
        # sets the retention of the log group RDS creates for the exported PostgreSQL logs.
        stack = Stack.of(self)
        provider = next(
            (c for c in stack.node.children if c.node.id.startswith("LogRetention")), None
        )
        if provider is None:
            raise RuntimeError("expected CDK's LogRetention provider in the stack")
        acknowledge(
            provider,
            "CDK's LogRetention provider sets retention on the log group RDS creates for "
            "exported PostgreSQL logs; its logs permissions cannot be scoped before RDS names "
            "the group.",
            "AwsSolutions-IAM4[Policy::"
            + MANAGED_POLICY.format("service-role/AWSLambdaBasicExecutionRole")
            + "]",
            "AwsSolutions-IAM5[Resource::*]",
            INLINE_GRANTS,
        )

    @property
    def database_name(self) -> str:
        return DATABASE_NAME

    @property
    def master_user(self) -> str:
        return MASTER_USER

    @property
    def health_user(self) -> str:
        return HEALTH_USER

    @property
    def validator_user(self) -> str:
        return VALIDATOR_USER

    @property
    def port(self) -> int:
        return PORT

    @property
    def subnet_group_name(self) -> str:
        """The cluster's DB subnet group: a restored cluster lands in the same subnets."""
        subnets = self.cluster.node.find_child("Subnets")
        assert isinstance(subnets, rds.SubnetGroup)
        return subnets.subnet_group_name

    @property
    def cluster_parameter_group_name(self) -> str:
        """The cluster's parameter group (TLS required), for a restored cluster too."""
        cluster = self.cluster.node.default_child
        assert isinstance(cluster, rds.CfnDBCluster)
        return str(cluster.db_cluster_parameter_group_name)

    @property
    def engine(self) -> str:
        return "aurora-postgresql"
