"""Stateless stack: the health check, event rules, alarms and dashboard (safe to replace)."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from config import PipelineConfig, StageConfig
from stages.base_stack import DrStack
from stages.components.alarms import Alarms
from stages.components.backup_events import BackupEvents
from stages.components.backup_freshness import BackupFreshness
from stages.components.dashboard import Dashboard
from stages.components.data_revision import data_revision
from stages.components.dead_letters import DeadLetters
from stages.components.health_check import HealthCheck
from stages.components.post_deploy_access import PostDeployAccess
from stages.components.release_drill_access import ReleaseDrillAccess
from stages.components.restore_alarms import RestoreAlarms
from stages.components.restore_validation import RestoreValidation
from stages.components.restore_validator import RestoreValidator
from stages.data_stack import DataStack


class ServiceStack(DrStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        pipeline: PipelineConfig,
        data: DataStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=(
                f"DR stage ({config.name}): health check, alarms, dashboard, events, "
                "post-deploy test access"
            ),
            **kwargs,
        )
        topic = data.notifications.topic
        self.dead_letters = DeadLetters(self, "DeadLetters")
        self.health_check = HealthCheck(
            self,
            "HealthCheck",
            network=data.network,
            database=data.database,
            table=data.table,
            bucket=data.bucket,
            logs_key=data.keys.logs,
            dead_letters=self.dead_letters,
            stage_name=config.name,
        )
        self.backup_events = BackupEvents(
            self,
            "BackupEvents",
            vault=data.backup.vault,
            topic=topic,
            release_test_role=data.backup.release_test_role,
            dead_letters=self.dead_letters,
        )
        self.backup_freshness = BackupFreshness(
            self,
            "BackupFreshness",
            config=config.backup,
            vault=data.backup.vault,
            topic=topic,
        )
        self.restore_validation = RestoreValidation(
            self,
            "RestoreValidation",
            restore_testing=data.restore_testing,
            topic=topic,
            dead_letters=self.dead_letters,
        )
        self.restore_validator = RestoreValidator(
            self,
            "RestoreValidator",
            config=config,
            network=data.network,
            database=data.database,
            restore_testing=data.restore_testing,
            restore_validation=self.restore_validation,
            data_key=data.keys.data,
            logs_key=data.keys.logs,
        )
        self.restore_alarms = RestoreAlarms(
            self,
            "RestoreAlarms",
            topic=topic,
            config=config,
            service_name=self.restore_validator.service_name,
            restore_job_failures=self.restore_validation.job_failures,
        )
        self.alarms = Alarms(
            self,
            "Alarms",
            topic=topic,
            database=data.database,
            table=data.table,
            health_check=self.health_check,
            backup_events=self.backup_events,
            dead_letters=self.dead_letters,
        )
        self.dashboard = Dashboard(
            self,
            "Dashboard",
            database=data.database,
            reader_count=config.database.reader_count,
            table=data.table,
            health_check=self.health_check,
            vault=data.backup.vault,
            alarms=self.alarms,
            restore_alarms=self.restore_alarms,
            backup_freshness=self.backup_freshness,
            data_revision=data_revision(data),
        )
        self.post_deploy = PostDeployAccess(
            self,
            "PostDeployAccess",
            role_name=pipeline.post_deploy_role_name(config),
            test_runner_arn=pipeline.test_runner_role_arn(config),
            health_check=self.health_check,
            backup=data.backup,
        )
        self.release_drill: ReleaseDrillAccess | None = None
        if config.backup.drills_on_release:
            self.release_drill = ReleaseDrillAccess(
                self,
                "ReleaseDrillAccess",
                role=self.post_deploy.role,
                stage_name=config.name,
                stacks=[data, self],
                restore_role=data.backup.restore_role,
                data_key=data.keys.data,
            )
