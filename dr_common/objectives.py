"""Measured RPO and RTO of a restore, and the verdict against a store's targets.

- RPO (data lost): the restore job's creation (the moment a disaster is declared) minus the
  newest canary's `written_at` in the restored copy. A canary written after that moment
  cannot be in a copy restored from an earlier point: one ahead by more than CLOCK_SKEW means
  a clock or a stored value is wrong, and fails; within it, the RPO is 0.
- RTO (time to usable data): from the restore job's creation until the reader first read
  the canary in the restored copy. The restore job's own duration (creation to completion)
  is reported beside it.

A missing canary, a store that could not be read, or a figure over its target gives FAILED,
with a reason of one line that names the store and the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from dr_common.canary import to_text

Status = Literal["SUCCESSFUL", "FAILED"]
SUCCESSFUL: Final = "SUCCESSFUL"
FAILED: Final = "FAILED"
# As the health check's own bound on a canary ahead of its clock (dr_health/canary.py).
CLOCK_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class Targets:
    rpo: timedelta
    rto: timedelta


@dataclass(frozen=True)
class Reading:
    """What reading the restored copy gave: the newest canary (None: there is none, and
    `absent` says where it was looked for) and when the read returned."""

    written_at: datetime | None
    read_at: datetime
    absent: str = ""


@dataclass(frozen=True)
class Measurement:
    store: str
    job_created: datetime
    job_completed: datetime | None
    reading: Reading | None  # None: the copy could not be read

    @property
    def rpo(self) -> timedelta | None:
        if self.reading is None or self.reading.written_at is None:
            return None
        return max(self.job_created - self.reading.written_at, timedelta(0))

    @property
    def rto(self) -> timedelta | None:
        if self.reading is None or self.reading.written_at is None:
            return None
        return self.reading.read_at - self.job_created

    @property
    def job_duration(self) -> timedelta | None:
        return None if self.job_completed is None else self.job_completed - self.job_created


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: str  # one line, naming the store

    @property
    def successful(self) -> bool:
        return self.status == SUCCESSFUL


def seconds(span: timedelta) -> str:
    return f"{span.total_seconds():.0f} s"


def judge(measurement: Measurement, targets: Targets, problem: str | None = None) -> Verdict:
    """The verdict on one store's restore. `problem`: why the copy could not be read (or
    anything else that fails the validation), in one line."""
    store, reading = measurement.store, measurement.reading
    if problem:
        return Verdict(FAILED, f"{store}: {problem}")
    if reading is None:
        return Verdict(FAILED, f"{store}: the restored copy was not read")
    if reading.written_at is None:
        where = f" ({reading.absent})" if reading.absent else ""
        return Verdict(FAILED, f"{store}: no canary in the restored copy{where}")
    ahead = reading.written_at - measurement.job_created
    if ahead > CLOCK_SKEW:
        return Verdict(
            FAILED,
            f"{store}: the restored canary ({to_text(reading.written_at)}) is {seconds(ahead)} "
            f"after the restore job was created ({to_text(measurement.job_created)}): a clock "
            "or a stored value is wrong",
        )
    rpo, rto = measurement.rpo, measurement.rto
    assert rpo is not None and rto is not None  # a canary was read
    figures = (
        f"RPO {seconds(rpo)} (target {seconds(targets.rpo)}, canary "
        f"{to_text(reading.written_at)}), RTO {seconds(rto)} (target {seconds(targets.rto)})"
    )
    over = [
        f"measured {name} {seconds(value)} is over its target {seconds(target)}"
        for name, value, target in (("RPO", rpo, targets.rpo), ("RTO", rto, targets.rto))
        if value > target
    ]
    if over:
        return Verdict(FAILED, f"{store}: {'; '.join(over)} ({figures})")
    return Verdict(SUCCESSFUL, f"{store}: {figures}")
