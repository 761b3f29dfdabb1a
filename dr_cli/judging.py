"""A restored copy's canary, read as the scheduled validator reads it (dr_common), and the
verdict against the stage's targets: the same arithmetic, so a drill's figures and a restore
test's compare."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dr_cli.aws import Aws
from dr_cli.restores import Restored, Restorer
from dr_cli.stage import Stage
from dr_common import stores
from dr_common.canary import to_text
from dr_common.errors import one_line
from dr_common.objectives import Measurement, Reading, Verdict, judge


@dataclass(frozen=True)
class Judged:
    restored: Restored
    reading: Reading | None
    verdict: Verdict
    measurement: Measurement

    def as_dict(self) -> dict[str, Any]:
        m, reading = self.measurement, self.reading
        return {
            "store": self.restored.store,
            "resource": self.restored.name,
            "how": self.restored.how,
            "requestedAt": self.restored.requested_at.isoformat(),
            "readyAt": self.restored.ready_at.isoformat(),
            "restoreSeconds": (self.restored.ready_at - self.restored.requested_at).total_seconds(),
            "canaryWrittenAt": None
            if reading is None or reading.written_at is None
            else to_text(reading.written_at),
            "rpoSeconds": None if m.rpo is None else m.rpo.total_seconds(),
            "rtoSeconds": None if m.rto is None else m.rto.total_seconds(),
            "verdict": self.verdict.status,
            "reason": self.verdict.reason,
        }


def read_and_judge(
    aws: Aws,
    *,
    stage: Stage,
    restorer: Restorer,
    restored: Restored,
    instance_class: str,
    now: Callable[[], datetime],
) -> Judged:
    problem, reading = None, None
    try:
        reading = read_copy(
            aws,
            stage=stage,
            restorer=restorer,
            restored=restored,
            instance_class=instance_class,
            now=now,
        )
    except Exception as error:  # the copy could not be read: the verdict says why
        problem = one_line(error)
    measurement = Measurement(restored.store, restored.requested_at, restored.ready_at, reading)
    verdict = judge(measurement, stage.targets(restored.store), problem)
    return Judged(restored, reading, verdict, measurement)


def read_copy(
    aws: Aws,
    *,
    stage: Stage,
    restorer: Restorer,
    restored: Restored,
    instance_class: str,
    now: Callable[[], datetime],
) -> Reading:
    if restored.store == "dynamodb":
        return stores.read_dynamodb(aws.client("dynamodb"), restored.name, now)
    if restored.store == "s3":
        return stores.read_s3(aws.client("s3"), restored.name, now=now)
    instance = restorer.add_instance(restored.name, instance_class)
    assert instance.host is not None and instance.port is not None
    return stores.read_postgres_through(
        aws.client("lambda"),
        stage.output("RestoreReaderFunctionName"),
        instance.host,
        instance.port,
    )
