"""The contract's environment and a validator wired to the fakes."""

from __future__ import annotations

from pathlib import Path

from dr_restore.settings import Settings
from dr_restore.validation import Services, Validator

from tests.validator.fakes import PLAN_ARN, World

BUNDLE = Path("/var/task")
ENV = {
    "AWS_REGION": "us-east-1",
    "STEP_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/steps",
    "RESTORE_TESTING_PLAN_ARN": PLAN_ARN,
    "CANARY_OBJECT_KEY": "health-check/canary.json",
    "DB_NAME": "drhealth",
    "DB_PORT": "5432",
    "DB_USER": "dr_validator",
    "DB_CA_BUNDLE": "rds-ca-bundle.pem",
    "VALIDATION_INSTANCE_CLASS": "db.t4g.medium",
    "VALIDATION_INSTANCE_PREFIX": "drv-",
    "STEP_DELAY_SECONDS": "60",
    "INSTANCE_WAIT_SECONDS": "1800",
    "INSTANCE_DELETE_WAIT_SECONDS": "1200",
    "TARGET_RPO_SECONDS_AURORA": "7200",
    "TARGET_RPO_SECONDS_DYNAMODB": "7200",
    "TARGET_RPO_SECONDS_S3": "7200",
    "TARGET_RTO_SECONDS_AURORA": "14400",
    "TARGET_RTO_SECONDS_DYNAMODB": "7200",
    "TARGET_RTO_SECONDS_S3": "7200",
    "POWERTOOLS_SERVICE_NAME": "dr-restore-validator-dev",
    "POWERTOOLS_METRICS_NAMESPACE": "DisasterRecovery",
}


def settings(**changes: str) -> Settings:
    return Settings.from_env({**ENV, **changes}, BUNDLE)


def validator(world: World, **changes: str) -> Validator:
    return Validator(settings(**changes), Services(world.client, world.connect, world.clock))
