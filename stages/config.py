"""The app's configuration: one typed, frozen, validated model.

`app.py` builds it from the CDK context (the `dr` object in `cdk.json`, with `-c dr.<path>=<value>`
overrides) and passes it down. Every problem raises `ConfigError` with one line naming the key.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, TypeVar

from aws_cdk import region_info

CONTEXT_KEY = "dr"
STAGE_NAMES = ("dev", "prod")

# AWS Backup continuous backup (point-in-time restore) keeps 1 to 35 days.
MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 35
# Aurora allows up to 15 readers per cluster.
MAX_READERS = 15
# AWS Backup vault lock: compliance mode has a grace time of at least 3 days.
MIN_CHANGEABLE_FOR_DAYS = 3
MAX_LOCK_RETENTION_DAYS = 36500

_ACCOUNT = re.compile(r"\d{12}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_INSTANCE_CLASS = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9]+")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_BRANCH = re.compile(r"[A-Za-z0-9._/-]+")
# Also the prefix of the IAM role names the pipeline and the stages agree on (64 characters).
_PIPELINE_NAME = re.compile(r"[a-z][a-z0-9-]{1,31}")
_CONNECTION_ARN = re.compile(
    r"arn:aws[a-z-]*:(?:codeconnections|codestar-connections):(?P<region>[a-z0-9-]+):"
    r"(?P<account>\d{12}):connection/[0-9a-f-]{36}"
)
# AWS Backup schedules are six-field cron expressions.
_BACKUP_CRON = re.compile(r"cron\(\S+( \S+){5}\)")


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names the key."""


class RemovalPosture(Enum):
    """What happens to stateful resources when the stack (or the resource) goes away."""

    DESTROY = "destroy"  # dev: delete everything, no deletion protection
    RETAIN = "retain"  # prod: retain or snapshot, deletion and termination protection


class VaultLockMode(Enum):
    # Governance: only principals allowed to change the lock can remove it.
    GOVERNANCE = "governance"
    # Compliance: immutable once the grace time ("changeableForDays") has passed.
    COMPLIANCE = "compliance"


@dataclass(frozen=True)
class PipelineConfig:
    name: str
    account: str
    region: str
    repository: str
    branch: str
    connection_arn: str
    notification_emails: tuple[str, ...]

    def deploys_cross_account(self, stages: tuple[StageConfig, ...]) -> bool:
        """Whether some stage lives outside the pipeline's account (artifacts then need a
        customer managed key that the other account's deploy role may use)."""
        return any(stage.account != self.account for stage in stages)

    # A role in one account can only trust, or be assumed by, a role in another account by
    # its ARN, known before either is deployed: these names are the contract between the
    # pipeline stack and each stage (pipeline/post_deploy.py,
    # stages/components/post_deploy_access.py).
    def test_runner_role_name(self, stage: StageConfig) -> str:
        return f"{self.name}-{stage.name}-test-runner"

    def test_runner_role_arn(self, stage: StageConfig) -> str:
        return _role_arn(self.region, self.account, self.test_runner_role_name(stage))

    def post_deploy_role_name(self, stage: StageConfig) -> str:
        return f"{self.name}-{stage.name}-post-deploy-test"

    def post_deploy_role_arn(self, stage: StageConfig) -> str:
        return _role_arn(stage.region, stage.account, self.post_deploy_role_name(stage))


def partition(region: str) -> str:
    """The ARN partition of a Region (aws, aws-cn, aws-us-gov, ...)."""
    name = region_info.RegionInfo.get(region).partition
    if name is None:
        raise ConfigError(f"no partition is known for Region {region!r}")
    return name


def _role_arn(region: str, account: str, name: str) -> str:
    return f"arn:{partition(region)}:iam::{account}:role/{name}"


@dataclass(frozen=True)
class DatabaseConfig:
    instance_class: str
    reader_count: int


@dataclass(frozen=True)
class VaultLockConfig:
    mode: VaultLockMode
    min_retention_days: int
    max_retention_days: int
    changeable_for_days: int | None


@dataclass(frozen=True)
class BackupConfig:
    schedule: str
    retention_days: int
    vault_lock: VaultLockConfig | None
    # Whether each release proves backups work with a real on-demand job (post-deploy).
    test_on_release: bool

    @property
    def on_demand_retention_days(self) -> int:
        """The shortest lifecycle the vault accepts: a lock fails shorter backup jobs."""
        return self.vault_lock.min_retention_days if self.vault_lock else MIN_RETENTION_DAYS


@dataclass(frozen=True)
class StageConfig:
    name: str
    account: str
    region: str
    availability_zones: tuple[str, str, str]
    database: DatabaseConfig
    removal: RemovalPosture
    alarm_emails: tuple[str, ...]
    backup: BackupConfig

    @property
    def retain_data(self) -> bool:
        return self.removal is RemovalPosture.RETAIN


@dataclass(frozen=True)
class AppConfig:
    pipeline: PipelineConfig
    dev: StageConfig
    prod: StageConfig

    @property
    def stages(self) -> tuple[StageConfig, StageConfig]:
        return (self.dev, self.prod)


@cache
def known_regions() -> frozenset[str]:
    return frozenset(info.name for info in region_info.RegionInfo.regions)


T = TypeVar("T")


class _Section:
    """A JSON object at a dotted path; every read names the key, unknown keys are errors."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected an object, got {_describe(data)}")
        self._data: Mapping[str, Any] = data
        self._path = path
        self._read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self._path}.{name}"

    def raw(self, name: str) -> Any:
        self._read.add(name)
        if name not in self._data or self._data[name] is None:
            raise ConfigError(f"{self.key(name)}: missing")
        return self._data[name]

    def has(self, name: str) -> bool:
        self._read.add(name)
        return self._data.get(name) is not None

    def string(self, name: str, pattern: re.Pattern[str] | None = None, what: str = "") -> str:
        value = self.raw(name)
        return _check_string(value, self.key(name), pattern, what)

    def integer(self, name: str, low: int, high: int) -> int:
        value = self.raw(name)
        return _check_int(value, self.key(name), low, high)

    def boolean(self, name: str) -> bool:
        value = self.raw(name)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.key(name)}: expected true or false, got {_describe(value)}")
        return value

    def section(self, name: str) -> _Section:
        return _Section(self.raw(name), self.key(name))

    def items(self, name: str, parse: Callable[[object, str], T]) -> tuple[T, ...]:
        values = self.raw(name)
        if not isinstance(values, list):
            raise ConfigError(f"{self.key(name)}: expected a list, got {_describe(values)}")
        return tuple(parse(value, f"{self.key(name)}[{i}]") for i, value in enumerate(values))

    def emails(self, name: str) -> tuple[str, ...]:
        addresses = self.items(name, _email)
        if not addresses:
            raise ConfigError(f"{self.key(name)}: at least one address is needed")
        return addresses

    def done(self) -> None:
        unknown = sorted(k for k in self._data if k not in self._read and not k.startswith("//"))
        if unknown:
            raise ConfigError(f"{self.key(unknown[0])}: unknown key")


def _describe(value: object) -> str:
    return f"{type(value).__name__} {json.dumps(value)[:40]}"


def _check_string(value: object, key: str, pattern: re.Pattern[str] | None, what: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {_describe(value)}")
    if pattern is not None and not pattern.fullmatch(value):
        raise ConfigError(f"{key}: {value!r} is not {what}")
    return value


def _check_int(value: object, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected a whole number, got {_describe(value)}")
    if not low <= value <= high:
        raise ConfigError(f"{key}: {value} is out of range ({low} to {high})")
    return value


def _email(value: object, key: str) -> str:
    return _check_string(value, key, _EMAIL, "an email address")


def _account(section: _Section) -> str:
    return section.string("account", _ACCOUNT, "a 12-digit AWS account id (quoted)")


def _region(section: _Section) -> str:
    region = section.string("region")
    if region not in known_regions():
        raise ConfigError(f"{section.key('region')}: {region!r} is not a known AWS region")
    return region


def _enum(section: _Section, name: str, enum: type[Any]) -> Any:
    value = section.string(name)
    for member in enum:
        if member.value == value:
            return member
    choices = ", ".join(repr(m.value) for m in enum)
    raise ConfigError(f"{section.key(name)}: {value!r} is not one of {choices}")


def _pipeline(section: _Section) -> PipelineConfig:
    account = _account(section)
    region = _region(section)
    arn = section.string("connectionArn", _CONNECTION_ARN, "a CodeConnections connection ARN")
    match = _CONNECTION_ARN.fullmatch(arn)
    assert match is not None
    if (match["account"], match["region"]) != (account, region):
        raise ConfigError(
            f"{section.key('connectionArn')}: the connection must be in the pipeline's "
            f"account and region ({account}, {region})"
        )
    config = PipelineConfig(
        name=section.string(
            "name", _PIPELINE_NAME, "2-32 lowercase letters, digits or hyphens, from a letter"
        ),
        account=account,
        region=region,
        repository=section.string("repository", _REPOSITORY, "an owner/name repository"),
        branch=section.string("branch", _BRANCH, "a branch name"),
        connection_arn=arn,
        notification_emails=section.emails("notificationEmails"),
    )
    section.done()
    return config


def _availability_zones(section: _Section, region: str) -> tuple[str, str, str]:
    key = section.key("availabilityZones")
    zone = re.compile(re.escape(region) + r"[a-z]")
    zones = section.items(
        "availabilityZones",
        lambda value, k: _check_string(value, k, zone, f"an Availability Zone of {region}"),
    )
    if len(zones) != 3:
        raise ConfigError(f"{key}: expected exactly 3 Availability Zones, got {len(zones)}")
    if len(set(zones)) != len(zones):
        raise ConfigError(f"{key}: Availability Zones must be distinct")
    return (zones[0], zones[1], zones[2])


def _database(section: _Section) -> DatabaseConfig:
    config = DatabaseConfig(
        instance_class=section.string(
            "instanceClass", _INSTANCE_CLASS, "an instance class like 'r7g.large' (no 'db.')"
        ),
        reader_count=section.integer("readerCount", 1, MAX_READERS),
    )
    section.done()
    return config


def _vault_lock(section: _Section, retention_days: int, retention_key: str) -> VaultLockConfig:
    mode: VaultLockMode = _enum(section, "mode", VaultLockMode)
    low = section.integer("minRetentionDays", 1, MAX_LOCK_RETENTION_DAYS)
    high = section.integer("maxRetentionDays", low, MAX_LOCK_RETENTION_DAYS)
    changeable: int | None = None
    if mode is VaultLockMode.COMPLIANCE:
        changeable = section.integer("changeableForDays", MIN_CHANGEABLE_FOR_DAYS, 36500)
    elif section.has("changeableForDays"):
        raise ConfigError(f"{section.key('changeableForDays')}: only valid in compliance mode")
    # A lock rejects any backup whose lifecycle falls outside its range.
    if not low <= retention_days <= high:
        raise ConfigError(
            f"{retention_key}: {retention_days} days is outside the vault lock's "
            f"retention range ({low} to {high})"
        )
    section.done()
    return VaultLockConfig(mode, low, high, changeable)


def _backup(section: _Section) -> BackupConfig:
    schedule = section.string("schedule", _BACKUP_CRON, "a six-field cron(...) expression")
    retention = section.integer("retentionDays", MIN_RETENTION_DAYS, MAX_RETENTION_DAYS)
    lock = None
    if section.has("vaultLock"):
        lock = _vault_lock(section.section("vaultLock"), retention, section.key("retentionDays"))
    test_on_release = section.boolean("testOnRelease")
    section.done()
    return BackupConfig(
        schedule=schedule,
        retention_days=retention,
        vault_lock=lock,
        test_on_release=test_on_release,
    )


def _stage(section: _Section, name: str) -> StageConfig:
    region = _region(section)
    config = StageConfig(
        name=name,
        account=_account(section),
        region=region,
        availability_zones=_availability_zones(section, region),
        database=_database(section.section("database")),
        removal=_enum(section, "removal", RemovalPosture),
        alarm_emails=section.emails("alarmEmails"),
        backup=_backup(section.section("backup")),
    )
    section.done()
    return config


def load_config(context: Mapping[str, Any]) -> AppConfig:
    """Build the model from CDK context: the `dr` object plus any `dr.<path>` overrides."""
    root = _Section(_with_overrides(context), CONTEXT_KEY)
    stages = root.section("stages")
    config = AppConfig(
        pipeline=_pipeline(root.section("pipeline")),
        dev=_stage(stages.section("dev"), "dev"),
        prod=_stage(stages.section("prod"), "prod"),
    )
    stages.done()
    root.done()
    for stage in config.stages:
        # CDK Pipelines reaches another Region through a support stack whose replication
        # bucket and key it makes itself, granting the pipeline's role KMS on "*": not a
        # trade this project makes for a single-Region DR stage.
        if stage.region != config.pipeline.region:
            raise ConfigError(
                f"{CONTEXT_KEY}.stages.{stage.name}.region: {stage.region!r} is not the "
                f"pipeline's Region ({config.pipeline.region}); stages deploy in the "
                "pipeline's Region"
            )
    return config


def _with_overrides(context: Mapping[str, Any]) -> dict[str, Any]:
    """Apply `-c dr.stages.prod.account=123456789012`-style overrides to the `dr` object."""
    base = context.get(CONTEXT_KEY)
    if isinstance(base, str):  # `-c dr='{...}'` arrives as a string
        try:
            base = json.loads(base)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{CONTEXT_KEY}: not valid JSON ({err.msg})") from None
    if base is None:
        raise ConfigError(f"{CONTEXT_KEY}: missing (expected in cdk.json context)")
    if not isinstance(base, Mapping):
        raise ConfigError(f"{CONTEXT_KEY}: expected an object, got {_describe(base)}")
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    prefix = CONTEXT_KEY + "."
    for key in sorted(k for k in context if k.startswith(prefix)):
        path = key[len(prefix) :].split(".")
        node = merged
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{key}: cannot override inside a non-object value")
            node = child
        node[path[-1]] = _override_value(context[key], node.get(path[-1]))
    return merged


def _override_value(value: Any, current: Any) -> Any:
    # The CLI passes `-c` values as strings: keep strings where the model wants one
    # (account ids are digits), parse JSON for numbers, lists, objects and null.
    if not isinstance(value, str) or isinstance(current, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value
