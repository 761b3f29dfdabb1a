"""The RDS calls for a restored Aurora cluster's validation instance.

AWS Backup restores an Aurora cluster without instances; reading its data needs one. The
validator creates the smallest class that serves a direct connection (VALIDATION_INSTANCE_CLASS,
e.g. db.t4g.medium), only once the cluster is `available`, and deletes it before the verdict:
AWS Backup cannot delete a restored cluster that still has an instance. Every call first
checks the world, so a repeated step neither creates a second instance nor fails on one
already being deleted, and nothing touches an instance that belongs to another cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dr_common.errors import aws_error_code

# Statuses from which an instance never becomes available by waiting (the RDS User Guide's
# DB instance statuses); DeleteDBInstance needs SkipFinalSnapshot for the first three.
NEVER_AVAILABLE = (
    "failed",
    "incompatible-restore",
    "incompatible-network",
    "incompatible-parameters",
    "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable",
    "deleting",
)


@dataclass(frozen=True)
class Cluster:
    identifier: str
    status: str
    engine: str


@dataclass(frozen=True)
class Instance:
    identifier: str
    status: str
    cluster_id: str | None
    host: str | None
    port: int | None


def describe_cluster(rds: Any, cluster_id: str) -> Cluster | None:
    try:
        [found] = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"]
    except Exception as error:
        if aws_error_code(error) == "DBClusterNotFoundFault":
            return None
        raise
    return Cluster(cluster_id, str(found["Status"]), str(found["Engine"]))


def describe_instance(rds: Any, instance_id: str) -> Instance | None:
    try:
        [found] = rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"]
    except Exception as error:
        if aws_error_code(error) == "DBInstanceNotFound":
            return None
        raise
    endpoint = found.get("Endpoint") or {}
    port = endpoint.get("Port")
    return Instance(
        identifier=instance_id,
        status=str(found["DBInstanceStatus"]),
        cluster_id=found.get("DBClusterIdentifier"),
        host=endpoint.get("Address"),
        port=None if port is None else int(port),
    )


def create_instance(
    rds: Any, cluster: Cluster, instance_id: str, instance_class: str, job_id: str
) -> None:
    """The cluster's one instance, for reading it; one that exists already (a repeated step)
    is the same instance."""
    try:
        rds.create_db_instance(
            DBInstanceIdentifier=instance_id,
            DBClusterIdentifier=cluster.identifier,
            DBInstanceClass=instance_class,
            Engine=cluster.engine,
            # Reached from inside the VPC only, as the cluster's security groups allow.
            PubliclyAccessible=False,
            # Found again by its tag if it were ever left behind.
            Tags=[{"Key": "dr-restore-validation", "Value": job_id}],
        )
    except Exception as error:
        if aws_error_code(error) != "DBInstanceAlreadyExists":
            raise


def delete_instance(rds: Any, instance_id: str) -> None:
    """Asks RDS to delete the instance; one already gone or being deleted is fine.
    SkipFinalSnapshot: Aurora keeps snapshots per cluster, and the API deletes an instance in
    a failed, incompatible-restore or incompatible-network state only with it."""
    try:
        rds.delete_db_instance(DBInstanceIdentifier=instance_id, SkipFinalSnapshot=True)
    except Exception as error:
        if aws_error_code(error) not in ("DBInstanceNotFound", "InvalidDBInstanceState"):
            raise
