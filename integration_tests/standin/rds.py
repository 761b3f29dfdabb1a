"""RDS stand-in (query protocol, botocore's rds/2014-10-31 shapes and error codes): the stage's
live cluster, clusters restored from it to a point in time, clusters restored by AWS Backup,
and validation instances. DescribeDBClusters, RestoreDBClusterToPointInTime, DeleteDBCluster,
CreateDBInstance, DescribeDBInstances and DeleteDBInstance.

moto's RDS would answer these, but with endpoints that exist nowhere and instances available
at once. Here every cluster's endpoint is a local PostgreSQL server, and statuses follow a
script, counted in describes so tests are exact: a restored cluster is `creating` for its
first `available_after` describes; an instance is `creating` until its
`instance_available_after`-th describe (None: never available), and once deleted `deleting`
for `instance_deleted_after` describes before it is gone (None: stuck deleting). A cluster
holding an instance cannot be deleted (InvalidDBClusterStateFault, as RDS answers; AWS
Backup's clean-up after a restore test then fails, as in AWS).

The live cluster (serve_live_cluster) is the stage's own: `available`, its endpoint the
stage's PostgreSQL server, EarliestRestorableTime when the stage started, LatestRestorableTime
LATEST_RESTORABLE_LAG_SECONDS before now (RDS's is about 5 minutes back; a local stage lives
minutes). Its writer and reader instances are listed as its members, but DescribeDBInstances
does not serve them (nothing here needs them), and it is never deleted: DeleteDBCluster is
refused as RDS refuses a cluster that still contains instances.

RestoreDBClusterToPointInTime restores the live cluster only, into a NEW server holding a copy
of the live database (roles and dr_canary, restore_data.py's dump) taken NOW, whatever time is
asked: the time is checked against the restorable window (InvalidRestoreFault outside it), but
a local PITR copies the present, as moto's DynamoDB PITR does. The settings it is given
(subnet group, security groups, KMS key, IAM authentication, parameter group, deletion
protection, tags) are recorded and shown in the new cluster's description; the subnet group
and parameter group must be the live cluster's (the only ones that exist here). DeleteDBCluster
deletes a restored cluster (gone at once, its server stopped); no final snapshot is kept, even
when one is asked for.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

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
DEFAULT_PARAMETER_GROUP = "default.aurora-postgresql17"
LATEST_RESTORABLE_LAG_SECONDS = 5.0
_SLACK_SECONDS = 0.001
OPERATIONS = (
    "DescribeDBClusters",
    "RestoreDBClusterToPointInTime",
    "DeleteDBCluster",
    "CreateDBInstance",
    "DescribeDBInstances",
    "DeleteDBInstance",
)
# The documented identifier constraints (CreateDBInstance, RestoreDBClusterToPointInTime): 1-63
# letters, digits or hyphens, from a letter, no two hyphens in a row, not ending in one.
_IDENTIFIER = re.compile(r"^[A-Za-z](?:-?[A-Za-z0-9])*$")
_IDENTIFIER_MAX = 63
_SECURITY_GROUP_KEY = re.compile(r"^VpcSecurityGroupIds\.[A-Za-z]+\.(\d+)$")


@dataclass(frozen=True)
class ClusterScript:
    available_after: int = 0
    instance_available_after: int | None = 2
    instance_deleted_after: int | None = 1


@dataclass(frozen=True)
class LiveCluster:
    """The stage's own cluster, as DescribeDBClusters shows it."""

    identifier: str
    host: str
    port: int
    database: str
    master_user: str
    kms_key_id: str
    subnet_group: str
    parameter_group: str
    security_groups: tuple[str, ...]
    backup_retention_days: int
    started: float  # EarliestRestorableTime: when the stage started


class ClusterCopies(Protocol):
    """What makes a point-in-time restore's server (the local stage's data plane)."""

    def copy_live(self, identifier: str) -> tuple[str, int]:
        """A new server holding a copy of the live database as of now: its host and port."""
        ...

    def stop_cluster(self, identifier: str) -> None: ...


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
    # Beyond the defaults (IAM authentication on, as the stage's restore testing selection
    # asks): what a point-in-time restore was given, in DBCluster's members.
    settings: dict[str, Any] = field(default_factory=dict)

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
        self._live: LiveCluster | None = None
        self._copies: ClusterCopies | None = None
        self._reserved: set[str] = set()  # identifiers of restores under way

    # The restore side (the data plane, in-process) and the control API ----------------------

    def serve_live_cluster(self, live: LiveCluster, copies: ClusterCopies) -> None:
        """The stage's own cluster, and what copies it for a point-in-time restore."""
        with self._lock:
            self._live, self._copies = live, copies

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()

    def script_next_cluster(self, script: ClusterScript) -> None:
        with self._lock:
            self._scripts.append(script)

    def check_new_cluster(self, identifier: str) -> None:
        """Refuses an identifier a new cluster cannot have (invalid, or taken)."""
        with self._lock:
            self._check_new(identifier)

    def add_restored_cluster(self, identifier: str, host: str, port: int) -> str:
        """A cluster AWS Backup restored (stored in lower case, as RDS stores identifiers)."""
        name = identifier.lower()
        with self._lock:
            self._check_new(name)
            script = self._scripts.popleft() if self._scripts else ClusterScript()
            self._clusters[name] = RestoredCluster(name, host, port, script)
        return self._arn(name)

    def delete_cluster(self, identifier: str) -> None:
        """AWS Backup's clean-up: refused while the cluster holds an instance."""
        with self._lock:
            self._refuse_if_held(identifier)
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
        if operation == "RestoreDBClusterToPointInTime":
            result = {"DBCluster": self._restore_to_point_in_time(form)}
        elif operation == "DeleteDBCluster":
            result = {"DBCluster": self._delete_cluster(form)}
        else:
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

    def _arn(self, identifier: str) -> str:
        return f"arn:aws:rds:{self._region}:{ACCOUNT_ID}:cluster:{identifier}"

    def _is_live(self, identifier: str) -> bool:
        return self._live is not None and identifier.lower() == self._live.identifier

    def _cluster(self, identifier: str) -> RestoredCluster:
        cluster = self._clusters.get(identifier.lower())
        if cluster is None:
            raise AwsError("DBClusterNotFoundFault", f"DBCluster {identifier} not found.", 404)
        return cluster

    def _check_new(self, identifier: str) -> None:
        if not _valid_identifier(identifier):
            raise AwsError("InvalidParameterValue", f"Invalid DB cluster identifier: {identifier}")
        name = identifier.lower()
        if name in self._clusters or name in self._reserved or self._is_live(name):
            raise AwsError("DBClusterAlreadyExistsFault", f"DB Cluster already exists: {name}")

    def _refuse_if_held(self, identifier: str) -> None:
        held = sorted(
            i.identifier for i in self._instances.values() if i.cluster.identifier == identifier
        )
        if held:
            raise AwsError(
                "InvalidDBClusterStateFault",
                f"Cluster {identifier} cannot be deleted: it still contains DB instances "
                f"({', '.join(held)})",
            )

    def _describe_clusters(self, form: dict[str, str]) -> dict[str, Any]:
        identifier = form.get("DBClusterIdentifier")
        if identifier and identifier.startswith("arn:"):  # an ARN names the cluster too
            identifier = identifier.rsplit(":cluster:", 1)[-1]
        bodies = []
        if self._live is not None and (not identifier or self._is_live(identifier)):
            bodies.append(self._live_body(self._live))
        if not identifier or not self._is_live(identifier):
            clusters = [self._cluster(identifier)] if identifier else list(self._clusters.values())
            for cluster in clusters:
                cluster.polls += 1
            bodies += [self._cluster_body(c) for c in clusters]
        return {"DBClusters": bodies}

    def _live_body(self, live: LiveCluster) -> dict[str, Any]:
        latest = max(live.started, time.time() - LATEST_RESTORABLE_LAG_SECONDS)
        return {
            "DBClusterIdentifier": live.identifier,
            "DBClusterArn": self._arn(live.identifier),
            "Status": "available",
            "Engine": ENGINE,
            "EngineVersion": ENGINE_VERSION,
            "DatabaseName": live.database,
            "MasterUsername": live.master_user,
            "Endpoint": live.host,
            "ReaderEndpoint": live.host,
            "Port": live.port,
            "EarliestRestorableTime": live.started,
            "LatestRestorableTime": latest,
            "BackupRetentionPeriod": live.backup_retention_days,
            "DBSubnetGroup": live.subnet_group,
            "DBClusterParameterGroup": live.parameter_group,
            "VpcSecurityGroups": _memberships(live.security_groups),
            "StorageEncrypted": True,
            "KmsKeyId": live.kms_key_id,
            "IAMDatabaseAuthenticationEnabled": True,
            "DeletionProtection": False,
            "ClusterCreateTime": live.started,
            "DBClusterMembers": [
                {
                    "DBInstanceIdentifier": f"{live.identifier}-{role}",
                    "IsClusterWriter": role == "writer",
                    "PromotionTier": 1,
                }
                for role in ("writer", "reader")
            ],
        }

    def _cluster_body(self, cluster: RestoredCluster) -> dict[str, Any]:
        members = [
            {"DBInstanceIdentifier": i.identifier, "IsClusterWriter": True, "PromotionTier": 1}
            for i in self._instances.values()
            if i.cluster is cluster
        ]
        return {
            "DBClusterIdentifier": cluster.identifier,
            "DBClusterArn": self._arn(cluster.identifier),
            "Status": cluster.status,
            "Engine": ENGINE,
            "EngineVersion": ENGINE_VERSION,
            "Endpoint": cluster.host,
            "Port": cluster.port,
            "IAMDatabaseAuthenticationEnabled": True,
            "DeletionProtection": False,
            "ClusterCreateTime": cluster.created,
            "DBClusterMembers": members,
            **cluster.settings,
        }

    def _restore_to_point_in_time(self, form: dict[str, str]) -> dict[str, Any]:
        """Checks the request, copies the live database (outside the lock: it takes seconds,
        and describes go on meanwhile), then adds the cluster, `creating`."""
        identifier = form.get("DBClusterIdentifier", "")
        with self._lock:
            settings = self._check_restore(form)
            self._check_new(identifier)
            name = identifier.lower()
            self._reserved.add(name)
            copies = self._copies
        assert copies is not None  # _check_restore refuses a restore without a live cluster
        try:
            host, port = copies.copy_live(name)
        except BaseException:
            with self._lock:
                self._reserved.discard(name)
            raise
        with self._lock:
            self._reserved.discard(name)
            script = self._scripts.popleft() if self._scripts else ClusterScript()
            cluster = RestoredCluster(name, host, port, script, settings=settings)
            self._clusters[name] = cluster
            return self._cluster_body(cluster)

    def _check_restore(self, form: dict[str, str]) -> dict[str, Any]:
        """The request's errors, in RDS's codes; else the new cluster's recorded settings."""
        source = form.get("SourceDBClusterIdentifier", "")
        live = self._live
        if live is None or not self._is_live(source):
            if source.lower() in self._clusters:
                raise AwsError(
                    "InvalidDBClusterStateFault",
                    f"stand-in: only the stage's cluster can be restored to a point in time, "
                    f"not {source}",
                )
            raise AwsError("DBClusterNotFoundFault", f"DBCluster {source} not found.", 404)
        latest_asked = form.get("UseLatestRestorableTime", "false") == "true"
        time_asked = form.get("RestoreToTime")
        if latest_asked == (time_asked is not None):
            raise AwsError(
                "InvalidParameterCombination",
                "Exactly one of RestoreToTime and UseLatestRestorableTime=true must be given",
            )
        if time_asked is not None:
            moment = _timestamp(time_asked)
            latest = max(live.started, time.time() - LATEST_RESTORABLE_LAG_SECONDS)
            # To the millisecond: a described time sent back may lose a float's last digits.
            if not live.started - _SLACK_SECONDS <= moment <= latest + _SLACK_SECONDS:
                raise AwsError(
                    "InvalidRestoreFault",
                    f"Restore time {time_asked} is not within the restorable window of "
                    f"{live.identifier} ({_iso(live.started)} to {_iso(latest)})",
                )
        if form.get("RestoreType", "full-copy") not in ("full-copy", "copy-on-write"):
            raise AwsError("InvalidParameterValue", f"Invalid RestoreType: {form['RestoreType']}")
        subnet_group = form.get("DBSubnetGroupName")
        if subnet_group is not None and subnet_group != live.subnet_group:
            raise AwsError(
                "DBSubnetGroupNotFoundFault", f"DBSubnetGroup {subnet_group} not found.", 404
            )
        parameter_group = form.get("DBClusterParameterGroupName")
        if parameter_group is not None and parameter_group != live.parameter_group:
            raise AwsError(
                "DBClusterParameterGroupNotFound",
                f"DBClusterParameterGroup not found: {parameter_group}",
                404,
            )
        # Unless given: the source's key and subnet group, the engine's default parameter
        # group, IAM authentication and deletion protection off (the API reference's defaults).
        return {
            "DBSubnetGroup": subnet_group or live.subnet_group,
            "VpcSecurityGroups": _memberships(_security_groups(form)),
            "KmsKeyId": form.get("KmsKeyId") or live.kms_key_id,
            "StorageEncrypted": True,
            "IAMDatabaseAuthenticationEnabled": form.get("EnableIAMDatabaseAuthentication")
            == "true",
            "DBClusterParameterGroup": parameter_group or DEFAULT_PARAMETER_GROUP,
            "DeletionProtection": form.get("DeletionProtection") == "true",
            "DatabaseName": live.database,
            "MasterUsername": live.master_user,
            "TagList": _tags(form),
        }

    def _delete_cluster(self, form: dict[str, str]) -> dict[str, Any]:
        identifier = form.get("DBClusterIdentifier", "").lower()
        skip = form.get("SkipFinalSnapshot", "false") == "true"
        final = form.get("FinalDBSnapshotIdentifier")
        with self._lock:
            if self._is_live(identifier):
                # The stage's writer and reader are its members: RDS refuses, as here.
                raise AwsError(
                    "InvalidDBClusterStateFault",
                    f"Cluster {identifier} cannot be deleted, it still contains DB instances in "
                    "non-deleting state.",
                )
            cluster = self._cluster(identifier)
            if skip and final:
                raise AwsError(
                    "InvalidParameterCombination",
                    "FinalDBSnapshotIdentifier can not be specified when SkipFinalSnapshot is true",
                )
            if not skip and not final:
                raise AwsError(
                    "InvalidParameterCombination",
                    "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is true",
                )
            if cluster.settings.get("DeletionProtection"):
                raise AwsError(
                    "InvalidParameterCombination",
                    "Cannot delete protected Cluster, please disable deletion protection and try "
                    "again.",
                )
            self._refuse_if_held(cluster.identifier)
            del self._clusters[cluster.identifier]
            body = {**self._cluster_body(cluster), "Status": "deleting"}
            copies = self._copies
        if copies is not None:
            copies.stop_cluster(cluster.identifier)
        return body

    def _create(self, form: dict[str, str]) -> Instance:
        identifier = form["DBInstanceIdentifier"]
        if not _valid_identifier(identifier):
            raise AwsError("InvalidParameterValue", f"Invalid DB instance identifier: {identifier}")
        cluster_id = form.get("DBClusterIdentifier")
        if not cluster_id:
            raise AwsError(
                "InvalidParameterCombination", "The stand-in creates instances in a cluster only"
            )
        if self._is_live(cluster_id):
            raise AwsError(
                "InvalidParameterCombination",
                "stand-in: instances of the stage's own cluster are not modelled",
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


def _valid_identifier(identifier: str) -> bool:
    return len(identifier) <= _IDENTIFIER_MAX and _IDENTIFIER.match(identifier) is not None


def _security_groups(form: dict[str, str]) -> list[str]:
    """VpcSecurityGroupIds.VpcSecurityGroupId.N (botocore's member name; `member` too), in
    order."""
    found = {}
    for key, value in form.items():
        if match := _SECURITY_GROUP_KEY.match(key):
            found[int(match[1])] = value
    return [found[index] for index in sorted(found)]


def _memberships(groups: Sequence[str]) -> list[dict[str, str]]:
    return [{"VpcSecurityGroupId": group, "Status": "active"} for group in groups]


def _timestamp(value: str) -> float:
    """A query-protocol timestamp as botocore sends it (ISO 8601, UTC)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AwsError("InvalidParameterValue", f"Invalid timestamp: {value}") from None
    if moment.tzinfo is None:
        raise AwsError("InvalidParameterValue", f"Timestamp without a time zone: {value}")
    return moment.timestamp()


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
