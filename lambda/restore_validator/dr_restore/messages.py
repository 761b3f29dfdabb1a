"""The two kinds of message on the step queue, both JSON in the SQS message body.

- A restore job event, as an EventBridge rule delivers it to SQS (the whole event):
  `{"source": "aws.backup", "detail-type": "Restore Job State Change", "detail": {
  "restoreJobId", "status" (or "state" in a CREATED event), "restoreTestingPlanArn", ...}}`.
- The validator's own next step of an Aurora validation (which spans many minutes: the
  cluster, a new instance, the read, the instance's deletion), sent with DelaySeconds:
  `{"type": "dr-restore-validation-step", "version": 1, "phase": "cluster"|"instance"|
  "deletion", "clusterId", "instanceId", "deadline", "lastStatus", "steps", "job": {...the
  restore job's facts...}, "reading": {"writtenAt", "readAt", "absent"} | null, "problem"}`.
  Times are ISO 8601 with their zone. The state travels in the message, so any invocation
  can take the next step, and a repeated delivery repeats a step that checks the world first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, cast

from dr_common.objectives import Reading
from dr_common.restore_job import RestoreJob

EVENT_SOURCE = "aws.backup"
EVENT_DETAIL_TYPE = "Restore Job State Change"
STEP_TYPE = "dr-restore-validation-step"
STEP_VERSION = 1
Phase = Literal["cluster", "instance", "deletion"]
PHASES: tuple[Phase, ...] = ("cluster", "instance", "deletion")


class MessageError(ValueError):
    """A message that is neither a restore job event nor a step of this validator's."""


@dataclass(frozen=True)
class JobEvent:
    job_id: str
    status: str
    plan_arn: str | None


@dataclass(frozen=True)
class Step:
    job: RestoreJob  # the facts DescribeRestoreJob gave when the validation began
    phase: Phase
    cluster_id: str
    instance_id: str
    deadline: datetime  # of this phase's wait
    last_status: str = ""  # what the last look saw, for a reason at the deadline
    steps: int = 0  # step messages sent so far in this validation
    reading: Reading | None = None
    problem: str | None = None

    def to_body(self) -> str:
        return json.dumps(
            {
                "type": STEP_TYPE,
                "version": STEP_VERSION,
                "phase": self.phase,
                "clusterId": self.cluster_id,
                "instanceId": self.instance_id,
                "deadline": self.deadline.isoformat(),
                "lastStatus": self.last_status,
                "steps": self.steps,
                "job": _job_json(self.job),
                "reading": None if self.reading is None else _reading_json(self.reading),
                "problem": self.problem,
            }
        )

    def next(self, **changes: Any) -> Step:
        return replace(self, steps=self.steps + 1, **changes)


def parse(body: str) -> JobEvent | Step:
    try:
        message = json.loads(body)
    except ValueError:
        raise MessageError(f"not JSON: {body[:80]!r}") from None
    if not isinstance(message, dict):
        raise MessageError(f"not a JSON object: {body[:80]!r}")
    try:
        if message.get("type") == STEP_TYPE:
            return _step(message)
        if (message.get("source"), message.get("detail-type")) == (
            EVENT_SOURCE,
            EVENT_DETAIL_TYPE,
        ):
            detail = message["detail"]
            # AWS's example events: CREATED carries `state`, every later one `status`.
            status = detail.get("status") or detail.get("state")
            return JobEvent(
                job_id=str(detail["restoreJobId"]),
                status=str(status),
                plan_arn=detail.get("restoreTestingPlanArn"),
            )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise MessageError(f"malformed {type(error).__name__} {error}: {body[:200]!r}") from None
    raise MessageError(f"neither a restore job event nor a step: {body[:200]!r}")


def _step(message: dict[str, Any]) -> Step:
    if message["version"] != STEP_VERSION or message["phase"] not in PHASES:
        raise ValueError(f"version {message['version']}, phase {message['phase']!r}")
    reading = message.get("reading")
    return Step(
        job=_job(message["job"]),
        phase=cast(Phase, message["phase"]),
        cluster_id=str(message["clusterId"]),
        instance_id=str(message["instanceId"]),
        deadline=_time(message["deadline"]),
        last_status=str(message.get("lastStatus") or ""),
        steps=int(message.get("steps") or 0),
        reading=None if reading is None else _reading(reading),
        problem=message.get("problem"),
    )


def _time(value: object) -> datetime:
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return moment


def _optional_time(value: object) -> datetime | None:
    return None if value is None else _time(value)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _reading_json(reading: Reading) -> dict[str, Any]:
    return {
        "writtenAt": _iso(reading.written_at),
        "readAt": reading.read_at.isoformat(),
        "absent": reading.absent,
    }


def _reading(value: dict[str, Any]) -> Reading:
    return Reading(
        written_at=_optional_time(value["writtenAt"]),
        read_at=_time(value["readAt"]),
        absent=str(value.get("absent") or ""),
    )


def _job_json(job: RestoreJob) -> dict[str, Any]:
    return {
        "restoreJobId": job.job_id,
        "status": job.status,
        "resourceType": job.resource_type,
        "created": job.created.isoformat(),
        "completed": _iso(job.completed),
        "createdResourceArn": job.created_resource_arn,
        "recoveryPointArn": job.recovery_point_arn,
        "recoveryPointCreated": _iso(job.recovery_point_created),
        "planArn": job.plan_arn,
    }


def _job(value: dict[str, Any]) -> RestoreJob:
    return RestoreJob(
        job_id=str(value["restoreJobId"]),
        status=str(value["status"]),
        resource_type=str(value["resourceType"]),
        created=_time(value["created"]),
        completed=_optional_time(value.get("completed")),
        created_resource_arn=value.get("createdResourceArn"),
        recovery_point_arn=value.get("recoveryPointArn"),
        recovery_point_created=_optional_time(value.get("recoveryPointCreated")),
        plan_arn=value.get("planArn"),
        validation_status=None,  # only ever read fresh from DescribeRestoreJob
        status_message="",
    )
