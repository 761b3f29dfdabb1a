"""The rules behind the model in config/model.py: checks of one value (used as `Annotated`
metadata, each also describing itself in the JSON Schema) and checks that relate values.

A value check raises `InvalidValueError` (the loader adds the dotted key); a check across
values raises `ConfigError` with the whole line, as only it knows which key is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from config import cron
from config.aws_data import aurora_instance_classes, availability_zones

if TYPE_CHECKING:
    from config.model import PipelineConfig, StageConfig

# Lowercase, so that the Stage id ("Dev" for "dev") is unique when the name is; stack names
# (`Dev-Data`) and IAM role names (`<pipeline>-dev-post-deploy-test`) accept these.
STAGE_NAME = r"[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?"
MIN_BACKUP_INTERVAL_MINUTES = 60  # AWS Backup refuses rules less than an hour apart
MAX_ROLE_NAME = 64  # IAM; role names are built from the pipeline's and a stage's names
# Names that say "production": such a stage must not delete its data by accident.
PRODUCTION_WORDS = frozenset({"prod", "production", "prd", "live"})


class ConfigError(Exception):
    """A configuration value is missing or wrong; the message is one line naming the key."""


class InvalidValueError(ValueError):
    """A value is wrong; the message says what, the loader adds the key."""


@dataclass(frozen=True, eq=False)  # hashed by identity: typing hashes Annotated metadata
class Rule:
    """`Annotated` metadata: validates after the type check, and adds `schema` to the
    field's JSON Schema (so editors know the rule too)."""

    check: Callable[[Any], None]
    schema: dict[str, Any] = field(default_factory=dict)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        def validate(value: Any) -> Any:
            self.check(value)
            return value

        return core_schema.no_info_after_validator_function(validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), **self.schema}


def matching(pattern: str, what: str) -> Rule:
    compiled = re.compile(pattern)

    def check(value: str) -> None:
        if not compiled.fullmatch(value):
            raise InvalidValueError(f"{value!r} is not {what}")

    return Rule(check, {"pattern": f"^{pattern}$"})


def between(low: int, high: int) -> Rule:
    def check(value: int) -> None:
        if not low <= value <= high:
            raise InvalidValueError(f"{value} is out of range ({low} to {high})")

    return Rule(check, {"minimum": low, "maximum": high})


def nonempty(message: str) -> Rule:
    def check(value: tuple[Any, ...]) -> None:
        if not value:
            raise InvalidValueError(message)

    return Rule(check, {"minItems": 1})


def _schedule(value: str) -> None:
    try:
        gap = cron.parse(value).longest_gap()
    except cron.CronError as error:
        raise InvalidValueError(f"{value!r} is not a valid AWS cron expression: {error}") from None
    if gap.total_seconds() < MIN_BACKUP_INTERVAL_MINUTES * 60:
        raise InvalidValueError(
            f"{value!r} runs more often than once an hour, which AWS Backup refuses"
        )


BACKUP_SCHEDULE = Rule(_schedule, {"pattern": r"^cron\(\S+( \S+){5}\)$"})


# The alarm that reports a store without a validated restore looks back over the longest gap
# between tests plus about 9 hours (their start window, the validator's bound, the restore's
# own time), and CloudWatch evaluates at most 7 days: tests at least every 6 days.
MAX_RESTORE_TEST_GAP_DAYS = 6


def _restore_schedule(value: str) -> None:
    try:
        gap = cron.parse(value).longest_gap()
    except cron.CronError as error:
        raise InvalidValueError(f"{value!r} is not a valid AWS cron expression: {error}") from None
    if gap.total_seconds() > MAX_RESTORE_TEST_GAP_DAYS * 86400:
        raise InvalidValueError(
            f"{value!r} leaves {gap} between restore tests; at most "
            f"{MAX_RESTORE_TEST_GAP_DAYS} days, so that a store without a proven restore is "
            "reported (a CloudWatch alarm looks back at most 7 days)"
        )


RESTORE_SCHEDULE = Rule(_restore_schedule, {"pattern": r"^cron\(\S+( \S+){5}\)$"})


def _instance_class(value: str) -> None:
    if value not in aurora_instance_classes():
        raise InvalidValueError(
            f"{value!r} is not an instance class of Aurora PostgreSQL (without 'db.', "
            "e.g. 'r7g.large'; config/data/aurora_postgresql_instance_classes.json lists them)"
        )


AURORA_INSTANCE_CLASS = Rule(_instance_class, {"enum": sorted(aurora_instance_classes())})


def _region(value: str) -> None:
    if value not in availability_zones():
        raise InvalidValueError(f"{value!r} is not a known AWS region")


REGION = Rule(_region, {"enum": sorted(availability_zones())})


def check_pipeline(pipeline: PipelineConfig) -> None:
    _, _, _, region, account, _ = pipeline.connection_arn.split(":", 5)
    if (account, region) != (pipeline.account, pipeline.region):
        raise ConfigError(
            "dr.pipeline.connectionArn: the connection must be in the pipeline's account and "
            f"region ({pipeline.account}, {pipeline.region})"
        )


def check_zones(stage: StageConfig) -> None:
    key, known = f"dr.stages.{stage.name}", availability_zones()[stage.region]
    for index, zone in enumerate(stage.availability_zones):
        if zone not in known:
            raise ConfigError(
                f"{key}.availabilityZones[{index}]: {zone!r} is not an Availability Zone of "
                f"{stage.region} ({', '.join(known)})"
            )
    if len(stage.availability_zones) != 3:
        raise ConfigError(
            f"{key}.availabilityZones: expected exactly 3 Availability Zones, got "
            f"{len(stage.availability_zones)}"
            + (f" ({stage.region} has only {len(known)})" if len(known) < 3 else "")
        )
    if len(set(stage.availability_zones)) != 3:
        raise ConfigError(f"{key}.availabilityZones: Availability Zones must be distinct")


def check_removal(stage: StageConfig) -> None:
    production = PRODUCTION_WORDS & set(stage.name.split("-"))
    if production and not stage.retain_data and not stage.allow_destroy:
        raise ConfigError(
            f"dr.stages.{stage.name}.removal: 'destroy' deletes the data of a stage named like "
            "production with its stack; use 'retain', or set allowDestroy: true on this stage"
        )


def check_restore_targets(stage: StageConfig) -> None:
    """A recovery point is at most one backup interval old when a restore test starts: an
    RPO target below that fails every test, which proves nothing."""
    gap = cron.parse(stage.backup.schedule).longest_gap()
    for store in ("aurora", "dynamodb", "s3"):
        minutes = stage.restore_testing.targets(store).rpo_minutes
        if minutes is not None and minutes * 60 < gap.total_seconds():
            raise ConfigError(
                f"dr.stages.{stage.name}.restoreTesting.{store}.rpoMinutes: {minutes} is shorter "
                f"than the backup schedule's longest gap ({int(gap.total_seconds() // 60)} min): "
                "no restore could meet it"
            )


def check_release_drill(stage: StageConfig) -> None:
    backup = stage.backup
    if backup.drill_on_release and not backup.test_on_release:
        raise ConfigError(
            f"dr.stages.{stage.name}.backup.drillOnRelease: the release drill restores the "
            "recovery point of the release's backup job: set testOnRelease too"
        )


def check_vault_lock(stage: StageConfig) -> None:
    backup, key = stage.backup, f"dr.stages.{stage.name}.backup"
    lock = backup.vault_lock
    if lock is None:
        return
    if lock.max_retention_days < lock.min_retention_days:
        raise ConfigError(
            f"{key}.vaultLock.maxRetentionDays: {lock.max_retention_days} is below "
            f"minRetentionDays ({lock.min_retention_days})"
        )
    compliance = lock.mode.value == "compliance"
    if compliance and lock.changeable_for_days is None:
        raise ConfigError(f"{key}.vaultLock.changeableForDays: missing (compliance mode)")
    if not compliance and lock.changeable_for_days is not None:
        raise ConfigError(f"{key}.vaultLock.changeableForDays: only valid in compliance mode")
    # A lock rejects any backup whose lifecycle falls outside its range.
    if not lock.min_retention_days <= backup.retention_days <= lock.max_retention_days:
        raise ConfigError(
            f"{key}.retentionDays: {backup.retention_days} days is outside the vault lock's "
            f"retention range ({lock.min_retention_days} to {lock.max_retention_days})"
        )


def check_stage_in_pipeline(stage: StageConfig, pipeline: PipelineConfig) -> None:
    key = f"dr.stages.{stage.name}"
    # CDK Pipelines reaches another Region through a support stack whose replication bucket
    # and key it makes itself, granting the pipeline's role KMS on "*": not a trade this
    # project makes for a single-Region DR stage.
    if stage.region != pipeline.region:
        raise ConfigError(
            f"{key}.region: {stage.region!r} is not the pipeline's Region ({pipeline.region}); "
            "stages deploy in the pipeline's Region"
        )
    longest = max(
        (pipeline.post_deploy_role_name(stage), pipeline.test_runner_role_name(stage)), key=len
    )
    if len(longest) > MAX_ROLE_NAME:
        raise ConfigError(
            f"{key}.name: {stage.name!r} makes the role name {longest!r} {len(longest)} "
            f"characters long, over IAM's {MAX_ROLE_NAME}: shorten the stage or pipeline name"
        )


def check_unique_names(stages: tuple[StageConfig, ...]) -> None:
    seen: set[str] = set()
    for stage in stages:
        if stage.name in seen:
            raise ConfigError(f"dr.stages.{stage.name}.name: {stage.name!r} is used twice")
        seen.add(stage.name)
