"""The validator's settings, from the environment the template gives the function.

STEP_QUEUE_URL, RESTORE_TESTING_PLAN_ARN, CANARY_OBJECT_KEY, DB_NAME, DB_PORT, DB_USER,
DB_CA_BUNDLE (a file in the bundle, or an absolute path), VALIDATION_INSTANCE_CLASS,
VALIDATION_INSTANCE_PREFIX, STEP_DELAY_SECONDS, INSTANCE_WAIT_SECONDS,
INSTANCE_DELETE_WAIT_SECONDS, TARGET_RPO_SECONDS_<STORE> and TARGET_RTO_SECONDS_<STORE> for
AURORA, DYNAMODB and S3; AWS_REGION from the runtime. Optional: DB_READER_FUNCTION, the
name of a function (this bundle's `handler.read_database`, inside the VPC) that reads a
restored database for a validator that runs outside it (reader.py). A missing or malformed
value is a SettingsError naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from dr_common.objectives import Targets
from dr_common.restore_job import STORES

# SQS's bound on DelaySeconds.
MAX_DELAY_SECONDS = 900
# RDS: 1 to 63 letters, digits or hyphens, from a letter, no "--", not ending in "-"; the
# instance id appends the restore job id's 32 letters and digits to the prefix.
_PREFIX = re.compile(r"^[a-z](?:-?[a-z0-9])*-?$")
_JOB_ID_LENGTH = 32


class SettingsError(ValueError):
    """The environment is missing a setting or holds an unusable one."""


@dataclass(frozen=True)
class Settings:
    region: str
    step_queue_url: str
    plan_arn: str
    canary_object_key: str
    db_name: str
    db_port: int
    db_user: str
    ca_file: Path
    instance_class: str
    instance_prefix: str
    step_delay_seconds: int
    instance_wait: timedelta
    instance_delete_wait: timedelta
    targets: Mapping[str, Targets]
    db_reader_function: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], bundle_root: Path) -> Settings:
        prefix = _text(env, "VALIDATION_INSTANCE_PREFIX")
        if not _PREFIX.match(prefix) or len(prefix) + _JOB_ID_LENGTH > 63:
            raise SettingsError(
                f"VALIDATION_INSTANCE_PREFIX {prefix!r} cannot start an RDS instance identifier"
            )
        return cls(
            region=_text(env, "AWS_REGION"),
            step_queue_url=_text(env, "STEP_QUEUE_URL"),
            plan_arn=_text(env, "RESTORE_TESTING_PLAN_ARN"),
            canary_object_key=_text(env, "CANARY_OBJECT_KEY"),
            db_name=_text(env, "DB_NAME"),
            db_port=_whole(env, "DB_PORT", 1, 65535),
            db_user=_text(env, "DB_USER"),
            # A name in the bundle; an absolute path (a local test's CA) stays what it is.
            ca_file=bundle_root / _text(env, "DB_CA_BUNDLE"),
            instance_class=_text(env, "VALIDATION_INSTANCE_CLASS"),
            instance_prefix=prefix,
            step_delay_seconds=_whole(env, "STEP_DELAY_SECONDS", 0, MAX_DELAY_SECONDS),
            instance_wait=timedelta(seconds=_whole(env, "INSTANCE_WAIT_SECONDS", 1)),
            instance_delete_wait=timedelta(seconds=_whole(env, "INSTANCE_DELETE_WAIT_SECONDS", 1)),
            targets={
                store: Targets(
                    rpo=timedelta(seconds=_whole(env, f"TARGET_RPO_SECONDS_{store.upper()}", 1)),
                    rto=timedelta(seconds=_whole(env, f"TARGET_RTO_SECONDS_{store.upper()}", 1)),
                )
                for store in STORES
            },
            db_reader_function=env.get("DB_READER_FUNCTION", "").strip() or None,
        )

    def instance_id(self, job_id: str) -> str:
        """The validation instance of a restore job: one per job, the same on every step (so
        a repeated step finds it rather than creating another)."""
        letters = re.sub(r"[^a-z0-9]", "", job_id.lower())[:_JOB_ID_LENGTH]
        if not letters:
            raise SettingsError(f"restore job id {job_id!r} has no letters or digits")
        return self.instance_prefix + letters


def _text(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set")
    return value


def _whole(env: Mapping[str, str], name: str, low: int, high: int | None = None) -> int:
    raw = _text(env, name)
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"{low} to {high}" if high is not None else f"at least {low}"
        raise SettingsError(f"{name} must be {bound}, not {value}")
    return value
