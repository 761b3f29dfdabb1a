"""Deleting what a drill created, also after Ctrl-C: AWS never cleans up after an on-demand
restore. Each resource is registered by name BEFORE the call that creates it, so an
interruption at any point still finds it; a restore job still running is waited for (its
resource appears when it completes). What cannot be deleted within the bound is printed
with the command that deletes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dr_cli.aws import Aws
from dr_cli.errors import CliError, describe
from dr_cli.progress import Progress
from dr_common import aurora
from dr_common.errors import aws_error_code

JOB_END = ("COMPLETED", "FAILED", "ABORTED")


@dataclass
class Created:
    store: str
    name: str
    job_id: str | None = None
    instances: list[str] = field(default_factory=list)


@dataclass
class Cleanup:
    aws: Aws
    progress: Progress
    bound_seconds: float = 1800.0
    poll_seconds: float = 15.0
    max_poll_seconds: float = 60.0
    created: list[Created] = field(default_factory=list)

    def add(self, store: str, name: str) -> None:
        self.created.append(Created(store, name))

    def add_job(self, name: str, job_id: str) -> None:
        self._find(name).job_id = job_id

    def add_instance(self, instance_id: str) -> None:
        clusters = [c for c in self.created if c.store == "aurora"]
        clusters[-1].instances.append(instance_id)

    def _find(self, name: str) -> Created:
        return next(c for c in self.created if c.name == name)

    def run(self) -> list[str]:
        """Deletes everything registered, newest first; the lines of what is left behind."""
        left: list[str] = []
        while self.created:
            created = self.created.pop()
            try:
                self._delete(created)
            except Exception as error:
                left.append(f"{created.store} {created.name}: {describe(error)} ({_how(created)})")
        return left

    def _delete(self, created: Created) -> None:
        if created.job_id is not None:
            backup = self.aws.client("backup")
            self._wait(f"restore job {created.job_id} to end", lambda: _job_ended(backup, created))
        if created.store == "dynamodb":
            self._delete_table(created.name)
        elif created.store == "s3":
            self._delete_bucket(created.name)
        else:
            self._delete_cluster(created)
        self.progress.say(f"deleted {created.store} {created.name}")

    def _delete_table(self, name: str) -> None:
        dynamodb = self.aws.client("dynamodb")

        def deleted() -> tuple[bool, str]:
            try:
                status = dynamodb.describe_table(TableName=name)["Table"]["TableStatus"]
            except Exception as error:
                if aws_error_code(error) == "ResourceNotFoundException":
                    return True, "gone"
                raise
            if status == "ACTIVE":
                dynamodb.delete_table(TableName=name)
                return False, "deleting"
            return False, str(status)

        self._wait(f"table {name} to be deleted", deleted)

    def _delete_bucket(self, name: str) -> None:
        s3 = self.aws.client("s3")
        try:
            # Restored buckets are versioned: every version and delete marker goes.
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
                objects = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for kind in ("Versions", "DeleteMarkers")
                    for v in page.get(kind) or []
                ]
                if objects:
                    answer = s3.delete_objects(
                        Bucket=name, Delete={"Objects": objects, "Quiet": True}
                    )
                    # Quiet still lists the keys it could not delete, without raising.
                    if errors := answer.get("Errors"):
                        first = errors[0]
                        raise CliError(
                            f"DeleteObjects left {len(errors)} of {len(objects)} versions: "
                            f"{first.get('Code')}: {first.get('Message')} ({first.get('Key')})"
                        )
            s3.delete_bucket(Bucket=name)
        except Exception as error:
            if aws_error_code(error) != "NoSuchBucket":
                raise

    def _delete_cluster(self, created: Created) -> None:
        rds = self.aws.client("rds")
        for instance_id in created.instances:
            aurora.delete_instance(rds, instance_id)

            def instance_gone(instance_id: str = instance_id) -> tuple[bool, str]:
                found = aurora.describe_instance(rds, instance_id)
                return found is None, "gone" if found is None else found.status

            self._wait(f"instance {instance_id} to be deleted", instance_gone)

        def cluster_gone() -> tuple[bool, str]:
            # A cluster still being created cannot be deleted yet: wait for it, then delete.
            cluster = aurora.describe_cluster(rds, created.name)
            if cluster is None:
                return True, "gone"
            if cluster.status == "available":
                rds.delete_db_cluster(DBClusterIdentifier=created.name, SkipFinalSnapshot=True)
                return False, "deleting"
            return False, cluster.status

        self._wait(f"cluster {created.name} to be deleted", cluster_gone)

    def _wait(self, what: str, poll: Callable[[], tuple[bool, str]]) -> None:
        self.progress.wait(
            what,
            poll,
            bound_seconds=self.bound_seconds,
            interval_seconds=self.poll_seconds,
            max_interval_seconds=self.max_poll_seconds,
        )


def _job_ended(backup: Any, created: Created) -> tuple[bool, str]:
    status = str(backup.describe_restore_job(RestoreJobId=created.job_id)["Status"])
    return status in JOB_END, status


def _how(created: Created) -> str:
    """The command that deletes it by hand."""
    if created.store == "dynamodb":
        return f"aws dynamodb delete-table --table-name {created.name}"
    if created.store == "s3":
        return f"empty every version of s3://{created.name} (the console's Empty), then aws s3 rb"
    instances = " ".join(
        f"aws rds delete-db-instance --db-instance-identifier {i} --skip-final-snapshot;"
        for i in created.instances
    )
    return (
        f"{instances} aws rds delete-db-cluster --db-cluster-identifier {created.name} "
        "--skip-final-snapshot"
    ).strip()


def describe_left(cleanup: Cleanup, state: str) -> str:
    """What a command that stops now leaves, and how to delete each."""
    if not cleanup.created:
        return "nothing was created"
    return "; ".join(f"{c.store} {c.name} {state}: {_how(c)}" for c in cleanup.created)
