"""The local stage's data plane for AWS Backup (standin/restore.py's DataPlane): what a
recovery point holds, and what a restore makes of it.

A backup job of the table, the bucket or the cluster copies the data as of its start:
- DynamoDB: a moto on-demand backup of the table (CreateBackup), restored by moto's
  RestoreTableFromBackup into a new table (moto's point-in-time restore would copy the live
  table, whatever the time asked for, which is why it is not used);
- S3: a copy of the canary object (the one object the validator reads; other objects and
  versions are not copied), put into a new bucket;
- PostgreSQL: `pg_dumpall --roles-only` and `pg_dump --table dr_canary` of the stage's
  database (the rows, the owner and the grants as they were), loaded into a NEW PostgreSQL
  server: a restored Aurora cluster is another cluster, holding the same database name, which
  one server cannot hold twice. Its endpoint is registered with the RDS stand-in.
What a restore test created is deleted again when AWS Backup cleans up after its validation;
a cluster that still holds an instance is refused, as RDS refuses it.

The RDS stand-in's point-in-time restores of the live cluster (rds.py's ClusterCopies) use the
same machinery: a dump of the live database taken at the request, loaded into a new server.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integration_tests.local.moto import MotoStage
from integration_tests.local.postgres import PostgresServer, bare_server
from integration_tests.local.tls import TlsFiles
from integration_tests.standin.backup import RecoveryPoint
from integration_tests.standin.rds import RdsService

CANARY_TABLE = "dr_canary"
CANARY_OBJECT_KEY = "health-check/canary.json"


@dataclass(frozen=True)
class TableCopy:
    backup_arn: str


@dataclass(frozen=True)
class ObjectCopy:
    key: str
    body: bytes | None  # None: the bucket had no canary object then


@dataclass(frozen=True)
class DatabaseCopy:
    database: str
    owner: str
    roles: str  # pg_dumpall --roles-only
    table: str  # pg_dump --table dr_canary; empty when the table did not exist


class LocalDataPlane:
    def __init__(
        self,
        *,
        moto: MotoStage,
        postgres: PostgresServer,
        tls: TlsFiles,
        workdir: Path,
        rds: RdsService,
        cluster_arn: str,
        database: str,
    ) -> None:
        self._moto, self._postgres, self._tls, self._workdir = moto, postgres, tls, workdir
        self._rds, self._cluster_arn, self._database = rds, cluster_arn, database
        self._lock = threading.Lock()
        self._servers: dict[str, tuple[PostgresServer, ExitStack]] = {}
        # Restored servers start from this one long-lived thread: their parent-death signal
        # follows the thread that started them (processes.as_child), and the stand-in's
        # request threads end with each request.
        self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="restored-db")

    # DataPlane -----------------------------------------------------------------------------

    def capture(self, resource_arn: str, resource_type: str) -> object:
        if resource_type == "DynamoDB":
            table = resource_arn.split(":table/", 1)[1]
            answer = self._moto.client("dynamodb").create_backup(
                TableName=table, BackupName=f"awsbackup-{uuid.uuid4().hex}"
            )
            return TableCopy(str(answer["BackupDetails"]["BackupArn"]))
        if resource_type == "S3":
            return ObjectCopy(
                CANARY_OBJECT_KEY, self._canary_object(resource_arn.split(":::", 1)[1])
            )
        if resource_arn != self._cluster_arn:
            raise ValueError(f"{resource_arn} is not the local stage's cluster")
        return self._dump()

    def restore(self, point: RecoveryPoint, name: str) -> str:
        data: Any = point.data
        if isinstance(data, TableCopy):
            restored = self._moto.client("dynamodb").restore_table_from_backup(
                TargetTableName=name, BackupArn=data.backup_arn
            )
            return str(restored["TableDescription"]["TableArn"])
        if isinstance(data, ObjectCopy):
            s3 = self._moto.client("s3")
            s3.create_bucket(Bucket=name)
            if data.body is not None:
                s3.put_object(Bucket=name, Key=data.key, Body=data.body)
            return f"arn:aws:s3:::{name}"
        if isinstance(data, DatabaseCopy):
            name = name.lower()  # RDS stores cluster identifiers in lower case
            self._rds.check_new_cluster(name)  # before a server is started for it
            server = self._starter.submit(self._restored_server, name, data).result(timeout=60)
            try:
                return self._rds.add_restored_cluster(name, "127.0.0.1", server.port)
            except BaseException:
                self.stop_cluster(name)
                raise
        raise ValueError(f"recovery point {point.arn} holds no data this plane restores")

    def delete(self, created_arn: str, resource_type: str) -> None:
        name = created_arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        if resource_type == "DynamoDB":
            self._moto.client("dynamodb").delete_table(TableName=name)
        elif resource_type == "S3":
            s3 = self._moto.client("s3")
            for found in s3.list_objects_v2(Bucket=name).get("Contents", []):
                s3.delete_object(Bucket=name, Key=found["Key"])
            s3.delete_bucket(Bucket=name)
        else:
            self._rds.delete_cluster(name)  # refused while it holds an instance
            self.stop_cluster(name)

    # ClusterCopies (the RDS stand-in's point-in-time restores) -------------------------------

    def copy_live(self, identifier: str) -> tuple[str, int]:
        """A new server holding the live database's roles and dr_canary as of now."""
        data = self._dump()
        server = self._starter.submit(self._restored_server, identifier, data).result(timeout=60)
        return "127.0.0.1", server.port

    # For tests and the stage's end ----------------------------------------------------------

    def restored_server(self, cluster_id: str) -> PostgresServer:
        with self._lock:
            return self._servers[cluster_id][0]

    def stop_cluster(self, cluster_id: str) -> None:
        with self._lock:
            found = self._servers.pop(cluster_id, None)
        if found:
            found[1].close()

    def close(self) -> None:
        with self._lock:
            names = list(self._servers)
        for name in names:
            self.stop_cluster(name)
        self._starter.shutdown(wait=True)

    # -----------------------------------------------------------------------------------------

    def _canary_object(self, bucket: str) -> bytes | None:
        s3 = self._moto.client("s3")
        try:
            return bytes(s3.get_object(Bucket=bucket, Key=CANARY_OBJECT_KEY)["Body"].read())
        except s3.exceptions.NoSuchKey:
            return None

    def _dump(self) -> DatabaseCopy:
        owner = self._postgres.psql(
            f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{self._database}'"
        ).strip()
        exists = self._postgres.psql(
            f"SELECT to_regclass('{CANARY_TABLE}') IS NOT NULL", database=self._database
        ).strip()
        table = CANARY_TABLE if exists == "t" else None
        roles, table_sql = self._postgres.dump(self._database, table)
        return DatabaseCopy(self._database, owner, roles, table_sql)

    def _restored_server(self, name: str, data: DatabaseCopy) -> PostgresServer:
        stack = ExitStack()
        try:
            server = stack.enter_context(bare_server(self._tls, self._workdir))
            # initdb made the bootstrap superuser already: every other role as it was.
            roles = "\n".join(
                line
                for line in data.roles.splitlines()
                if not line.startswith(("CREATE ROLE postgres;", "ALTER ROLE postgres "))
            )
            server.load(roles)
            server.psql(f'CREATE DATABASE "{data.database}" OWNER "{data.owner}"')
            if data.table:
                server.load(data.table, database=data.database)
        except BaseException:
            stack.close()
            raise
        with self._lock:
            self._servers[name] = (server, stack)
        return server
