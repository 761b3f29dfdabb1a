"""The app's configuration: the `dr` object of `cdk.json`, as one frozen, validated model.

Keys are camelCase in JSON (`availabilityZones`), snake_case here. The rules are in
config/rules.py, loading and `-c` overrides in config/loading.py, and config/dr.schema.json is
generated from these classes (`make schema`).
"""

from __future__ import annotations

from datetime import timedelta
from enum import Enum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from config import cron, rules
from config.rules import between, matching, nonempty

# AWS Backup continuous backup (point-in-time restore) keeps 1 to 35 days.
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 1, 35
MAX_READERS = 15  # Aurora's limit per cluster
MIN_CHANGEABLE_FOR_DAYS = 3  # a compliance-mode vault lock's shortest grace time
MAX_LOCK_DAYS = 36500

AccountId = Annotated[str, matching(r"\d{12}", "a 12-digit AWS account id (quoted)")]
Region = Annotated[str, rules.REGION]
Email = Annotated[str, matching(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", "an email address")]
Emails = Annotated[tuple[Email, ...], nonempty("at least one address is needed")]
StageName = Annotated[
    str,
    matching(
        rules.STAGE_NAME,
        "1-32 lowercase letters, digits or hyphens, from a letter, not ending in a hyphen",
    ),
]
LockDays = Annotated[int, between(1, MAX_LOCK_DAYS)]


class RemovalPosture(Enum):
    """What happens to stateful resources when the stack (or the resource) goes away."""

    DESTROY = "destroy"  # delete everything, no deletion protection
    RETAIN = "retain"  # retain or snapshot, deletion and termination protection


class VaultLockMode(Enum):
    GOVERNANCE = "governance"  # principals allowed to change the lock can remove it
    COMPLIANCE = "compliance"  # immutable once `changeableForDays` has passed


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        alias_generator=to_camel,
        populate_by_name=True,
        # Keys starting with "//" are comments (cdk.json has no other way to hold one).
        json_schema_extra={"patternProperties": {"^//": {}}},
    )


class PipelineConfig(_Model):
    name: Annotated[
        str,
        matching(
            r"[a-z][a-z0-9-]{1,31}", "2-32 lowercase letters, digits or hyphens, from a letter"
        ),
    ] = Field(description="the pipeline's name; also prefixes the cross-account role names")
    account: AccountId = Field(description="tooling account")
    region: Region
    repository: Annotated[
        str, matching(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", "an owner/name repository")
    ]
    branch: Annotated[str, matching(r"[A-Za-z0-9._/-]+", "a branch name")] = Field(
        description="pushing to it releases"
    )
    connection_arn: Annotated[
        str,
        matching(
            r"arn:aws[a-z-]*:(?:codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:"
            r"connection/[0-9a-f-]{36}",
            "a CodeConnections connection ARN",
        ),
    ] = Field(description="in the pipeline's account and Region")
    notification_emails: Emails = Field(description="failed releases and approvals waiting")

    # A role in one account can trust or assume one in another only by an ARN known before
    # either is deployed: these names are the contract between the pipeline and each stage.
    def test_runner_role_name(self, stage: StageConfig) -> str:
        return f"{self.name}-{stage.name}-test-runner"

    def post_deploy_role_name(self, stage: StageConfig) -> str:
        return f"{self.name}-{stage.name}-post-deploy-test"

    def test_runner_role_arn(self, stage: StageConfig) -> str:
        name = self.test_runner_role_name(stage)
        return f"arn:{partition(self.region)}:iam::{self.account}:role/{name}"

    def post_deploy_role_arn(self, stage: StageConfig) -> str:
        name = self.post_deploy_role_name(stage)
        return f"arn:{partition(stage.region)}:iam::{stage.account}:role/{name}"


class DatabaseConfig(_Model):
    instance_class: Annotated[str, rules.AURORA_INSTANCE_CLASS] = Field(
        description="Aurora PostgreSQL instance class without 'db.', e.g. 'r7g.large'"
    )
    reader_count: Annotated[int, between(1, MAX_READERS)]


class VaultLockConfig(_Model):
    mode: VaultLockMode
    min_retention_days: LockDays
    max_retention_days: LockDays
    changeable_for_days: Annotated[int, between(MIN_CHANGEABLE_FOR_DAYS, MAX_LOCK_DAYS)] | None = (
        Field(default=None, description="compliance mode only: the grace time, then immutable")
    )


class BackupConfig(_Model):
    schedule: Annotated[str, rules.BACKUP_SCHEDULE] = Field(
        description="AWS cron expression (UTC), at least an hour between runs"
    )
    retention_days: Annotated[int, between(MIN_RETENTION_DAYS, MAX_RETENTION_DAYS)]
    vault_lock: VaultLockConfig | None = None
    test_on_release: bool = Field(
        description="each release proves backups with a real on-demand backup job"
    )
    drill_on_release: bool | None = Field(
        default=None,
        description="each release also restores the table from that job's recovery point and "
        "the bucket from its newest, and judges their canaries against the RPO and RTO targets "
        "(default: as testOnRelease)",
    )

    @property
    def drills_on_release(self) -> bool:
        return self.test_on_release if self.drill_on_release is None else self.drill_on_release

    @property
    def on_demand_retention_days(self) -> int:
        """The shortest lifecycle the vault accepts: a lock fails shorter backup jobs."""
        return self.vault_lock.min_retention_days if self.vault_lock else MIN_RETENTION_DAYS


STORES = ("aurora", "dynamodb", "s3")
# How long a restore of each store may take by default, from the restore job's creation to the
# validator reading the canary: Aurora restores a cluster and needs an instance for reading.
DEFAULT_RTO_MINUTES = {"aurora": 240, "dynamodb": 120, "s3": 120}
# Slack on top of the backup schedule's longest gap for the default RPO target.
DEFAULT_RPO_SLACK_MINUTES = 60
Minutes = Annotated[int, between(5, 7 * 24 * 60)]


class StoreTargets(_Model):
    rpo_minutes: Minutes | None = Field(
        default=None,
        description="most data a restore may lose: restore job start minus the newest canary "
        "in the restored copy (default: the backup schedule's longest gap plus 60)",
    )
    rto_minutes: Minutes | None = Field(
        default=None,
        description="longest a restore may take: restore job start until the canary is read "
        "(default: Aurora 240, DynamoDB and S3 120)",
    )


class RestoreTestingConfig(_Model):
    schedule: Annotated[str, rules.RESTORE_SCHEDULE] = Field(
        default="cron(0 6 ? * * *)",
        description="AWS cron expression (UTC) of the daily (or other) restore test",
    )
    aurora: StoreTargets = StoreTargets()
    dynamodb: StoreTargets = StoreTargets()
    s3: StoreTargets = StoreTargets()

    def targets(self, store: str) -> StoreTargets:
        found: StoreTargets = getattr(self, store)
        return found


class StageConfig(_Model):
    name: StageName
    account: AccountId
    region: Region = Field(description="the pipeline's Region")
    availability_zones: tuple[str, ...] = Field(description="three distinct AZs of the Region")
    database: DatabaseConfig
    removal: RemovalPosture
    allow_destroy: bool = Field(
        default=False,
        description="needed for removal 'destroy' on a stage named like production",
    )
    approval: bool | None = Field(
        default=None,
        description="a person approves the stage's change sets before they execute "
        "(default: every stage after the first)",
    )
    alarm_emails: Emails
    backup: BackupConfig
    restore_testing: RestoreTestingConfig = RestoreTestingConfig()

    @property
    def retain_data(self) -> bool:
        return self.removal is RemovalPosture.RETAIN

    @property
    def needs_approval(self) -> bool:
        return bool(self.approval)  # AppConfig sets every stage's approval

    @property
    def stage_id(self) -> str:
        """The CDK Stage id, and the prefix of its stacks' names: "Dev" for "dev"."""
        return self.name[0].upper() + self.name[1:]

    def rpo_target(self, store: str) -> timedelta:
        minutes = self.restore_testing.targets(store).rpo_minutes
        if minutes is None:
            return backup_gap(self.backup) + timedelta(minutes=DEFAULT_RPO_SLACK_MINUTES)
        return timedelta(minutes=minutes)

    def rto_target(self, store: str) -> timedelta:
        minutes = self.restore_testing.targets(store).rto_minutes
        return timedelta(minutes=DEFAULT_RTO_MINUTES[store] if minutes is None else minutes)

    @model_validator(mode="after")
    def _check(self) -> Self:
        rules.check_restore_targets(self)
        rules.check_release_drill(self)
        rules.check_zones(self)
        rules.check_removal(self)
        rules.check_vault_lock(self)
        return self


class AppConfig(_Model):
    pipeline: PipelineConfig
    stages: Annotated[tuple[StageConfig, ...], nonempty("at least one stage is needed")] = Field(
        description="deployed in this order"
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        rules.check_pipeline(self.pipeline)
        rules.check_unique_names(self.stages)
        for stage in self.stages:
            rules.check_stage_in_pipeline(stage, self.pipeline)
        # Every stage after the first waits for a person unless it says otherwise.
        stages = tuple(
            stage.model_copy(update={"approval": index > 0}) if stage.approval is None else stage
            for index, stage in enumerate(self.stages)
        )
        return self.model_copy(update={"stages": stages})


def backup_gap(backup: BackupConfig) -> timedelta:
    """The longest time between two scheduled backups (the schedule was validated)."""
    return cron.parse(backup.schedule).longest_gap()


_PARTITIONS = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-iso-", "aws-iso"),
    ("us-isob-", "aws-iso-b"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-isof-", "aws-iso-f"),
    ("eusc-", "aws-eusc"),
)


def partition(region: str) -> str:
    """The ARN partition of a Region (a test checks it against CDK's region facts)."""
    return next((name for prefix, name in _PARTITIONS if region.startswith(prefix)), "aws")
