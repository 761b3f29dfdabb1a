"""Local only: what the release drill restores, and when a bucket without a recovery point
is expected (a stage younger than its RPO target) or a failure (an older one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from dr_cli.aws import Aws
from dr_cli.stage import Stage
from integration_tests.local.harness import REGION, STAGE, LocalStage
from integration_tests.release_drill import plan


@pytest.fixture
def aws(local_stage: LocalStage) -> Aws:
    """A caller of its own: the stand-in lists it no recovery point but its own."""
    keys = local_stage.new_runner().keys
    return Aws.from_session(
        boto3.Session(
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            region_name=REGION,
        )
    )


def _stage(local_stage: LocalStage, age: timedelta) -> Stage:
    outputs = {k: v for stack in local_stage.outputs.values() for k, v in stack.items()}
    return Stage(STAGE, REGION, outputs, datetime.now(UTC) - age)


def test_the_grace_is_the_rpo_target_or_the_first_scheduled_point_whichever_is_later(
    local_stage: LocalStage, aws: Aws
) -> None:
    stage = _stage(local_stage, timedelta(hours=3))
    # The local stage: RPO target 7200 s, first point due within 14400 s.
    planned = plan(aws, stage, "s3", {}, datetime.now(UTC))
    assert planned.expected and planned.missing.endswith("first is due within 14400 s")
    without = Stage(
        STAGE, REGION, {**stage.outputs, "BackupFirstPointSeconds": ""}, stage.created_at
    )
    planned = plan(aws, without, "s3", {}, datetime.now(UTC))
    assert not planned.expected and planned.missing.endswith("first is due within 7200 s)")


def test_the_table_is_restored_from_the_release_backup_jobs_recovery_point(
    local_stage: LocalStage, aws: Aws
) -> None:
    point = "arn:aws:backup:us-east-1:123456789012:recovery-point:from-this-run"
    planned = plan(
        aws, _stage(local_stage, timedelta()), "dynamodb", {"dynamodb": point}, datetime.now(UTC)
    )
    assert planned.source is not None and planned.source.point_arn == point
    missing = plan(aws, _stage(local_stage, timedelta()), "dynamodb", {}, datetime.now(UTC))
    assert (missing.source, missing.expected) == (None, False)
    assert missing.missing == "this run's backup test made no recovery point"


def test_a_young_stage_without_a_bucket_recovery_point_is_not_yet_expected_to_have_one(
    local_stage: LocalStage, aws: Aws
) -> None:
    planned = plan(aws, _stage(local_stage, timedelta(minutes=5)), "s3", {}, datetime.now(UTC))
    assert planned.source is None and planned.expected
    assert planned.missing == (
        f"the bucket has no recovery point yet: stage {STAGE} is 300 s old, and a new "
        "stage's first is due within 14400 s"
    )


def test_an_older_stage_without_a_bucket_recovery_point_fails_saying_so(
    local_stage: LocalStage, aws: Aws
) -> None:
    planned = plan(aws, _stage(local_stage, timedelta(hours=5)), "s3", {}, datetime.now(UTC))
    assert planned.source is None and not planned.expected
    assert planned.missing == (
        f"the bucket has no restorable recovery point, and stage {STAGE} is 18000 s old "
        "(a new stage's first is due within 14400 s)"
    )
