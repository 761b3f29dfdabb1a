"""Where a restore comes from (`--to`): the latest restorable state, a point in time, or one
recovery point by its ARN; and the restorable window a time must fall in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from dr_cli.errors import CliError

Kind = Literal["latest", "time", "point"]


@dataclass(frozen=True)
class Source:
    kind: Kind
    time: datetime | None = None
    point_arn: str | None = None

    def describe(self) -> str:
        if self.kind == "time" and self.time is not None:
            return f"the state at {stamp(self.time)}"
        if self.kind == "point":
            return f"recovery point {self.point_arn}"
        return "the latest restorable state"


def parse(text: str) -> Source:
    value = text.strip()
    if value.lower() == "latest":
        return Source("latest")
    if value.startswith("arn:"):
        return Source("point", point_arn=value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(
            f"--to {text!r} is not `latest`, a recovery point ARN or an ISO 8601 time "
            "(e.g. 2026-11-30T08:15:00Z)"
        ) from None
    return Source("time", time=moment if moment.tzinfo else moment.replace(tzinfo=UTC))


@dataclass(frozen=True)
class Window:
    earliest: datetime
    latest: datetime
    what: str  # whose window, e.g. "the table's point-in-time recovery"

    def check(self, moment: datetime) -> None:
        if not self.earliest <= moment <= self.latest:
            raise CliError(
                f"--to {stamp(moment)} is outside {self.what}'s restorable window, "
                f"{stamp(self.earliest)} to {stamp(self.latest)}"
            )


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
