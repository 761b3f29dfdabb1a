"""RDS stand-in for restored Aurora clusters and their validation instances: DescribeDBClusters,
CreateDBInstance, DescribeDBInstances and DeleteDBInstance (query protocol, botocore's
rds/2014-10-31 shapes and error codes).

moto's RDS would answer these, but with endpoints that exist nowhere and instances available
at once. Here a restored cluster's endpoint is a local PostgreSQL server holding the restored
data, and statuses follow a script, counted in describes so tests are exact: the cluster is
`creating` for its first `available_after` describes; an instance is `creating` until its
`instance_available_after`-th describe (None: never available), and once deleted `deleting`
for `instance_deleted_after` describes before it is gone (None: stuck deleting). A cluster
holding an instance cannot be deleted (AWS Backup's clean-up after a restore test then fails,
as in AWS). Only restored clusters exist here: the stage's own cluster is not served.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from integration_tests.standin.auth import ACCOUNT_ID, Caller
from integration_tests.standin.protocol import (
    AwsError,
    Request,
    Response,
    new_request_id,
    query_response,
)

ENGINE = "aurora-postgresql"
ENGINE_VERSION = "17.4"
OPERATIONS = ("DescribeDBClusters", "CreateDBInstance", "DescribeDBInstances", "DeleteDBInstance")
# CreateDBInstance's documented constraints: 1-63 letters, digits or hyphens, from a letter,
# no two hyphens in a row, not ending in one.
_IDENTIFIER = re.compile(r"^[A-Za-z](?:-?[A-Za-z0-9]){0,62}$")


@dataclass(frozen=True)
class ClusterScript:
    available_after: int = 0
    instance_available_after: int | None = 2
    instance_deleted_after: int | None = 1


@dataclass
class Instance:
    identifier: str
    cluster: RestoredCluster
    instance_class: str
    created: float
    tags: list[dict[str, str]]
    polls: int = 0
    deletes_seen: int | None = None  # describes since DeleteDBInstance

    @property
    def status(self) -> str:
        if self.deletes_seen is not None:
            return "deleting"
        after = self.cluster.script.instance_available_after
        return "available" if after is not None and self.polls >= after else "creating"

    @property
    def gone(self) -> bool:
        after = self.cluster.script.instance_deleted_after
        return self.deletes_seen is not None and after is not None and self.deletes_seen > after

    def body(self, region: str) -> dict[str, Any]:
        status = self.status
        body: dict[str, Any] = {
            "DBInstanceIdentifier": self.identifier,
            "DBInstanceClass": self.instance_class,
            "Engine": ENGINE,
            "EngineVersion": ENGINE_VERSION,
            "DBInstanceStatus": status,
            "DBClusterIdentifier": self.cluster.identifier,
            "DBInstanceArn": f"arn:aws:rds:{region}:{ACCOUNT_ID}:db:{self.identifier}",
            "InstanceCreateTime": self.created,
            "PubliclyAccessible": False,
            "TagList": self.tags,
        }
        if status != "creating":  # RDS gives an endpoint once the instance is up
            body["Endpoint"] = {"Address": self.cluster.host, "Port": self.cluster.port}
        return body


@dataclass
class RestoredCluster:
    identifier: str
    host: str
    port: int
    script: ClusterScript
    created: float = field(default_factory=time.time)
    polls: int = 0

    @property
    def status(self) -> str:
        return "available" if self.polls > self.script.available_after else "creating"


class RdsService:
    def __init__(self, region: str) -> None:
        self._region = region
        self._lock = threading.Lock()
        self._clusters: dict[str, RestoredCluster] = {}
        self._instances: dict[str, Instance] = {}
        self._scripts: deque[ClusterScript] = deque()

    # The restore side (the data plane, in-process) and the control API ----------------------

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()

    def script_next_cluster(self, script: ClusterScript) -> None:
        with self._lock:
            self._scripts.append(script)

    def add_restored_cluster(self, identifier: str, host: str, port: int) -> str:
        with self._lock:
            script = self._scripts.popleft() if self._scripts else ClusterScript()
            self._clusters[identifier] = RestoredCluster(identifier, host, port, script)
        return f"arn:aws:rds:{self._region}:{ACCOUNT_ID}:cluster:{identifier}"

    def delete_cluster(self, identifier: str) -> None:
        """AWS Backup's clean-up: refused while the cluster holds an instance."""
        with self._lock:
            held = sorted(
                i.identifier for i in self._instances.values() if i.cluster.identifier == identifier
            )
            if held:
                raise AwsError(
                    "InvalidDBClusterStateFault",
                    f"Cluster {identifier} cannot be deleted: it still contains DB instances "
                    f"({', '.join(held)})",
                )
            self._clusters.pop(identifier, None)

    def release(self) -> None:
        """Every instance gone at once: a test's own clean-up after a stuck deletion."""
        with self._lock:
            self._instances.clear()

    def instances(self) -> list[str]:
        with self._lock:
            return sorted(self._instances)

    # The API --------------------------------------------------------------------------------

    @staticmethod
    def operation(request: Request) -> str | None:
        if request.method != "POST" or request.path != "/":
            return None
        action = request.form().get("Action")
        return action if action in OPERATIONS else None

    def handle(self, operation: str, request: Request, caller: Caller) -> Response:
        form = request.form()
        with self._lock:
            if operation == "DescribeDBClusters":
                result = self._describe_clusters(form)
            elif operation == "CreateDBInstance":
                result = {"DBInstance": self._create(form).body(self._region)}
            elif operation == "DescribeDBInstances":
                result = self._describe_instances(form)
            else:
                result = {"DBInstance": self._delete(form).body(self._region)}
        return query_response("rds", operation, result, new_request_id())

    def _cluster(self, identifier: str) -> RestoredCluster:
        cluster = self._clusters.get(identifier)
        if cluster is None:
            raise AwsError("DBClusterNotFoundFault", f"DBCluster {identifier} not found.", 404)
        return cluster

    def _describe_clusters(self, form: dict[str, str]) -> dict[str, Any]:
        identifier = form.get("DBClusterIdentifier")
        clusters = [self._cluster(identifier)] if identifier else list(self._clusters.values())
        for cluster in clusters:
            cluster.polls += 1
        return {"DBClusters": [self._cluster_body(c) for c in clusters]}

    def _cluster_body(self, cluster: RestoredCluster) -> dict[str, Any]:
        members = [
            {"DBInstanceIdentifier": i.identifier, "IsClusterWriter": True, "PromotionTier": 1}
            for i in self._instances.values()
            if i.cluster is cluster
        ]
        return {
            "DBClusterIdentifier": cluster.identifier,
            "DBClusterArn": f"arn:aws:rds:{self._region}:{ACCOUNT_ID}:cluster:{cluster.identifier}",
            "Status": cluster.status,
            "Engine": ENGINE,
            "EngineVersion": ENGINE_VERSION,
            "Endpoint": cluster.host,
            "Port": cluster.port,
            "IAMDatabaseAuthenticationEnabled": True,
            "DeletionProtection": False,
            "ClusterCreateTime": cluster.created,
            "DBClusterMembers": members,
        }

    def _create(self, form: dict[str, str]) -> Instance:
        identifier = form["DBInstanceIdentifier"]
        if not _IDENTIFIER.match(identifier) or identifier.endswith("-"):
            raise AwsError("InvalidParameterValue", f"Invalid DB instance identifier: {identifier}")
        cluster_id = form.get("DBClusterIdentifier")
        if not cluster_id:
            raise AwsError(
                "InvalidParameterCombination", "The stand-in creates instances in a cluster only"
            )
        cluster = self._cluster(cluster_id)
        if cluster.status != "available":
            raise AwsError(
                "InvalidDBClusterStateFault", f"DB cluster {cluster_id} is not in available state"
            )
        if form.get("Engine") != ENGINE:
            raise AwsError(
                "InvalidParameterCombination",
                f"Engine {form.get('Engine')} does not match the cluster's engine {ENGINE}",
            )
        if identifier.lower() in self._instances:
            raise AwsError("DBInstanceAlreadyExists", f"DB instance {identifier} already exists")
        instance = Instance(
            identifier=identifier.lower(),  # "stored as a lowercase string"
            cluster=cluster,
            instance_class=form["DBInstanceClass"],
            created=time.time(),
            tags=_tags(form),
        )
        self._instances[instance.identifier] = instance
        return instance

    def _instance(self, identifier: str) -> Instance:
        instance = self._instances.get(identifier.lower())
        if instance is None:
            raise AwsError("DBInstanceNotFound", f"DBInstance {identifier} not found.", 404)
        return instance

    def _describe_instances(self, form: dict[str, str]) -> dict[str, Any]:
        identifier = form.get("DBInstanceIdentifier")
        found = [self._instance(identifier)] if identifier else list(self._instances.values())
        listed = []
        for instance in found:
            if instance.deletes_seen is not None:
                instance.deletes_seen += 1
                if instance.gone:
                    del self._instances[instance.identifier]
                    if identifier:
                        raise AwsError(
                            "DBInstanceNotFound", f"DBInstance {identifier} not found.", 404
                        )
                    continue
            else:
                instance.polls += 1
            listed.append(instance.body(self._region))
        return {"DBInstances": listed}

    def _delete(self, form: dict[str, str]) -> Instance:
        instance = self._instance(form["DBInstanceIdentifier"])
        if instance.deletes_seen is not None:
            raise AwsError(
                "InvalidDBInstanceState",
                f"Instance {instance.identifier} is already being deleted.",
            )
        skip = form.get("SkipFinalSnapshot", "false") == "true"
        if skip and form.get("FinalDBSnapshotIdentifier"):
            raise AwsError(
                "InvalidParameterCombination",
                "FinalDBSnapshotIdentifier can not be specified when SkipFinalSnapshot is true",
            )
        instance.deletes_seen = 0
        return instance


def _tags(form: dict[str, str]) -> list[dict[str, str]]:
    """Tags.Tag.N.Key / .Value, as botocore's query serializer sends them."""
    tags = []
    index = 1
    while f"Tags.Tag.{index}.Key" in form:
        tags.append(
            {"Key": form[f"Tags.Tag.{index}.Key"], "Value": form.get(f"Tags.Tag.{index}.Value", "")}
        )
        index += 1
    return tags
