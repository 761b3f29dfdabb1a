"""Stateful stack: everything whose replacement would lose data or subscriptions."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from config import StageConfig
from stages.base_stack import DrStack
from stages.components.backup import Backup
from stages.components.bucket import Bucket
from stages.components.database import Database
from stages.components.database_roles import DatabaseRoles
from stages.components.encryption import Encryption
from stages.components.network import Network
from stages.components.notifications import Notifications
from stages.components.restore_testing import RestoreTesting
from stages.components.table import Table


class DataStack(DrStack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"DR stage ({config.name}): network, keys, data stores, backup vault",
            termination_protection=config.retain_data,
            **kwargs,
        )
        retain = config.retain_data
        self.keys = Encryption(self, "Encryption", retain=retain)
        self.network = Network(
            self,
            "Network",
            availability_zones=config.availability_zones,
            logs_key=self.keys.logs,
            retain_logs=retain,
        )
        self.database = Database(
            self,
            "Database",
            network=self.network,
            key=self.keys.data,
            config=config.database,
            availability_zones=config.availability_zones,
            retain=retain,
        )
        self.database_roles = DatabaseRoles(
            self,
            "DatabaseRoles",
            network=self.network,
            database=self.database,
            logs_key=self.keys.logs,
        )
        self.table = Table(self, "Table", key=self.keys.data, retain=retain)
        self.bucket = Bucket(self, "Bucket", key=self.keys.data, retain=retain)
        self.backup = Backup(
            self,
            "Backup",
            config=config.backup,
            keys=self.keys,
            database=self.database,
            table=self.table,
            bucket=self.bucket,
            retain=retain,
        )
        self.restore_testing = RestoreTesting(
            self,
            "RestoreTesting",
            config=config,
            network=self.network,
            backup_stores=self.backup,
            database=self.database,
            table=self.table,
            bucket=self.bucket,
        )
        self.notifications = Notifications(
            self, "Notifications", key=self.keys.notifications, emails=config.alarm_emails
        )
