"""The step queue's two kinds of message: restore job events as EventBridge delivers them, and
the validator's own steps, which carry the whole state."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from dr_restore.messages import JobEvent, MessageError, Step, parse

from dr_common.objectives import Reading
from dr_common.restore_job import RestoreJob
from tests.validator.fakes import (
    CLUSTER_ARN,
    CLUSTER_ID,
    INSTANCE_ID,
    JOB_ID,
    PLAN_ARN,
    T0,
    restore_job,
)


def event(detail: dict[str, object]) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": "ab32977c",
            "detail-type": "Restore Job State Change",
            "source": "aws.backup",
            "account": "123456789012",
            "time": "2026-11-30T06:20:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
    )


def test_a_completed_event_carries_status_and_the_plan() -> None:
    body = event({"restoreJobId": JOB_ID, "status": "COMPLETED", "restoreTestingPlanArn": PLAN_ARN})
    assert parse(body) == JobEvent(JOB_ID, "COMPLETED", PLAN_ARN)


def test_a_created_event_carries_state() -> None:
    body = event(
        {"restoreJobId": JOB_ID, "state": "CREATED", "creationDate": "2026-11-30T06:00:00Z"}
    )
    assert parse(body) == JobEvent(JOB_ID, "CREATED", None)


def test_a_step_survives_its_message() -> None:
    step = Step(
        job=RestoreJob.from_answer(restore_job("Aurora", CLUSTER_ARN)),
        phase="deletion",
        cluster_id=CLUSTER_ID,
        instance_id=INSTANCE_ID,
        deadline=T0 + timedelta(hours=1),
        last_status="deleting",
        steps=4,
        reading=Reading(T0 - timedelta(minutes=55), T0 + timedelta(minutes=40)),
        problem=None,
    )
    assert parse(step.to_body()) == step
    assert json.loads(step.to_body())["type"] == "dr-restore-validation-step"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        json.dumps({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}),
        event({"status": "COMPLETED"}),
        json.dumps({"type": "dr-restore-validation-step", "version": 2, "phase": "cluster"}),
        json.dumps({"type": "dr-restore-validation-step", "version": 1, "phase": "teatime"}),
    ],
)
def test_anything_else_is_refused(body: str) -> None:
    with pytest.raises(MessageError):
        parse(body)
