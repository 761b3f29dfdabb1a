"""DescribeRestoreJob's answer read as facts, the store of each resource type, and the
restored resource's name, refused unless it is a restore test's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dr_common.restore_job import RestoreJob, RestoreJobError, restored_name
from tests.validator.fakes import (
    BUCKET_ARN,
    CLUSTER_ARN,
    CLUSTER_ID,
    PLAN_ARN,
    T0,
    TABLE_ARN,
    restore_job,
)


def test_the_facts_of_a_completed_plan_job() -> None:
    job = RestoreJob.from_answer(restore_job("Aurora", CLUSTER_ARN))
    assert (job.store, job.plan_arn, job.status, job.created) == (
        "aurora",
        PLAN_ARN,
        "COMPLETED",
        T0,
    )
    assert job.recovery_point_created == T0 - timedelta(minutes=50)
    assert job.duration_seconds == 1200
    assert job.restored_name() == CLUSTER_ID
    assert not job.validated


@pytest.mark.parametrize(
    ("resource_type", "arn", "store", "name"),
    [
        ("DynamoDB", TABLE_ARN, "dynamodb", "awsbackup-restore-test-5e6f"),
        ("DynamoDB.FullyManaged", TABLE_ARN, "dynamodb", "awsbackup-restore-test-5e6f"),
        ("S3", BUCKET_ARN, "s3", "awsbackup-restore-test-7a8b"),
    ],
)
def test_each_resource_type_names_its_store_and_restored_resource(
    resource_type: str, arn: str, store: str, name: str
) -> None:
    job = RestoreJob.from_answer(restore_job(resource_type, arn))
    assert (job.store, job.restored_name()) == (store, name)


@pytest.mark.parametrize("status", ["SUCCESSFUL", "FAILED", "TIMED_OUT"])
def test_a_final_validation_status_counts_as_validated(status: str) -> None:
    assert RestoreJob.from_answer(restore_job("S3", BUCKET_ARN, ValidationStatus=status)).validated
    assert not RestoreJob.from_answer(
        restore_job("S3", BUCKET_ARN, ValidationStatus="VALIDATING")
    ).validated


def test_a_live_resource_is_refused() -> None:
    live = "arn:aws:dynamodb:us-east-1:123456789012:table/Dev-Data-Table1234"
    with pytest.raises(RestoreJobError, match="not a restore test's"):
        RestoreJob.from_answer(restore_job("DynamoDB", live)).restored_name()


@pytest.mark.parametrize(
    ("arn", "store"),
    [
        ("arn:aws:rds:us-east-1:1:db:awsbackup-restore-test-x", "aurora"),  # an instance
        (TABLE_ARN, "s3"),
        ("not-an-arn", "dynamodb"),
        (BUCKET_ARN + "/key", "s3"),
    ],
)
def test_an_arn_that_is_not_the_store_s_restored_resource_is_refused(arn: str, store: str) -> None:
    with pytest.raises(RestoreJobError):
        restored_name(arn, store)


@pytest.mark.parametrize(
    "answer",
    [
        None,
        {"RestoreJobId": "x", "Status": "COMPLETED"},
        {"RestoreJobId": "x", "Status": "COMPLETED", "CreationDate": "yesterday"},
    ],
)
def test_an_answer_that_is_not_describe_restore_job_s_is_refused(answer: object) -> None:
    with pytest.raises(RestoreJobError):
        RestoreJob.from_answer(answer)  # type: ignore[arg-type]
