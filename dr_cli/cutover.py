"""After a restore: the exact steps to put the restored data to use, per store, and to bring
the change back into the stacks without drift. The stacks stay the system of record: data
moves back into the stack's resource, rather than the stack being pointed at a resource it
does not own (which CloudFormation would neither know nor protect)."""

from __future__ import annotations

from dr_cli.stage import Stage


def steps(stage: Stage, store: str, restored: str) -> list[str]:
    if store == "dynamodb":
        return _table(stage, restored)
    if store == "s3":
        return _bucket(stage, restored)
    return _cluster(stage, restored)


def _table(stage: Stage, restored: str) -> list[str]:
    live = stage.table_name
    return [
        f"Stop the writers of {live} (or accept that their writes after the restore point are "
        "overwritten where keys collide).",
        f"Compare {restored} with {live}: the restored copy holds the data as of the restore "
        "point; `aws dynamodb scan --table-name <table> --select COUNT` gives each count.",
        f"Copy the items you need from {restored} into {live} (the stack's table, with its "
        "point-in-time recovery, deletion protection, backups and alarms): a Scan of the "
        "restored table and BatchWriteItem into the live one, or an export to S3 and import.",
        f"If {live} itself is gone: release the stage again (the pipeline recreates the "
        "table, empty, under the stack), then copy everything from the restored copy.",
        f"Check with `dr status {stage.name.lower()}` that the health check is healthy.",
        f"Delete {restored} when done: `aws dynamodb delete-table --table-name {restored}` "
        "(it has no point-in-time recovery or deletion protection of its own).",
    ]


def _bucket(stage: Stage, restored: str) -> list[str]:
    live = stage.bucket_name
    return [
        f"Compare s3://{restored} with s3://{live}: `aws s3 ls --recursive` on both.",
        f"Copy back what you need: `aws s3 sync s3://{restored} s3://{live}` (the live "
        "bucket is versioned: what it overwrites stays as a previous version, and its backups "
        "and lifecycle rules keep applying).",
        f"Check with `dr status {stage.name.lower()}` that the health check is healthy.",
        f"Delete s3://{restored} when done: empty every version (the console's Empty), then "
        f"`aws s3 rb s3://{restored}`.",
    ]


def _cluster(stage: Stage, restored: str) -> list[str]:
    live = stage.cluster_id
    return [
        f"The restored cluster {restored} is in the stage's data subnets, with the cluster's "
        "security group (the stage's RDS Proxy and the roles bootstrap reach it) and the "
        "restored clusters' (the stage's restore reader reaches it); IAM authentication is on.",
        f"Stop the writers (the applications behind the RDS Proxy of {live}).",
        f"From a host in the VPC that the cluster's security group admits, dump what you need "
        f"from {restored} (`pg_dump`, signed in as the master user with the password of the "
        f"backup's time, or an IAM-enabled role) and load it into {live} through the RDS "
        "Proxy: the stack's cluster stays the system of record, with its readers, backups, "
        "alarms and the proxy's targets.",
        f"If {live} itself is gone: release the stage again (the pipeline recreates the "
        "cluster, empty, with the proxy pointing at it), then load the dump.",
        f"Check with `dr status {stage.name.lower()}` that the database components are healthy.",
        f"Delete {restored} and its instance when done: `aws rds delete-db-instance "
        f"--db-instance-identifier {restored[:61]}-1 --skip-final-snapshot`, then `aws rds "
        f"delete-db-cluster --db-cluster-identifier {restored} --skip-final-snapshot`.",
    ]
