"""The release's restore drill: what it restores, and whether a missing recovery point is a
failure or not yet expected. The restoring, reading, judging and cleaning up are `dr drill`'s
(dr_cli), so a release and a person at 3 a.m. run the same code.

Two stores fit the post-deploy step's time bound: the table, from the recovery point this
run's backup job just made (so the release proves its own backup restores), and the bucket,
from its newest recovery point (the plan's). The cluster is left to the daily restore test:
an Aurora restore with an instance to read it takes longer than a release should wait.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dr_cli.aws import Aws
from dr_cli.drill import Drill
from dr_cli.errors import describe
from dr_cli.progress import Progress
from dr_cli.restores import Timing, recovery_points
from dr_cli.sources import Source
from dr_cli.stage import Stage
from integration_tests.target import Target

STORES = ("dynamodb", "s3")


@dataclass(frozen=True)
class Planned:
    what: str  # where the restore comes from, for the report
    source: Source | None  # None: nothing to restore from (see `missing`)
    missing: str = ""  # why there is no source
    expected: bool = False  # a missing source is expected: the stage is too young to have one


def plan(
    aws: Aws, stage: Stage, store: str, release_points: dict[str, str], now: datetime
) -> Planned:
    if store == "dynamodb":
        what = "the recovery point of this release's backup job"
        point = release_points.get(store)
        if point is None:
            return Planned(what, None, "this run's backup test made no recovery point")
        return Planned(what, Source("point", point_arn=point))
    what = "the bucket's newest recovery point (AWS Backup)"
    points = recovery_points(aws, stage.resource_arn(store))
    if points:
        return Planned(what, Source("point", point_arn=str(points[0]["RecoveryPointArn"])))
    # A new stage has none until its plan's first backup (due within the schedule's gap and
    # the job's windows: the BackupFirstPointSeconds output); an older one should have one,
    # so its absence is what the drill exists to catch.
    grace = stage.targets(store).rpo
    if first := stage.outputs.get("BackupFirstPointSeconds"):
        grace = max(grace, timedelta(seconds=int(first)))
    age = None if stage.created_at is None else now - stage.created_at
    if age is not None and age < grace:
        return Planned(
            what,
            None,
            f"the bucket has no recovery point yet: stage {stage.name} is "
            f"{age.total_seconds():.0f} s old, and a new stage's first is due within "
            f"{grace.total_seconds():.0f} s",
            expected=True,
        )
    old = "of unknown age" if age is None else f"{age.total_seconds():.0f} s old"
    return Planned(
        what,
        None,
        f"the bucket has no restorable recovery point, and stage {stage.name} is {old} "
        f"(a new stage's first is due within {grace.total_seconds():.0f} s)",
    )


@dataclass(frozen=True)
class Result:
    skipped: str | None = None  # not run, and why (reported as skipped, never as passed)
    failure: str | None = None  # one line: what failed
    report: str | None = None  # the drill's report as JSON, for the test report


def prove(
    session: Any,
    target: Target,
    store: str,
    release_points: dict[str, str],
    say: Callable[[str], None],
) -> Result:
    """The release drill of one store, with the suite's session (the post-deploy role's)."""

    def now() -> datetime:
        return datetime.now(UTC)

    try:
        aws = Aws.from_session(session)
        stage = Stage.load(aws, target.stage)
        planned = plan(aws, stage, store, release_points, now())
    except Exception as error:
        return Result(failure=f"{store}: cannot plan the drill: {describe(error)}")
    if planned.source is None:
        if planned.expected:
            return Result(skipped=f"{store}: {planned.missing}")
        return Result(failure=f"{store}: {planned.missing}")
    timing = Timing(
        bound_seconds=target.drill.timeout_seconds,
        poll_seconds=target.backup.poll_initial_seconds,
        max_poll_seconds=target.backup.poll_max_seconds,
    )
    drill = Drill(aws, stage, Progress(sink=say), timing, now)
    status, report, text = drill.run_plan([(store, planned.what, planned.source)])
    for line in text.splitlines():
        say(line)
    failures = [str(o["reason"]) for o in report["outcomes"] if o["verdict"] != "SUCCESSFUL"]
    failures += [f"left behind: {line}" for line in report["leftBehind"]]
    if status and not failures:
        failures.append(f"{store}: the drill ended with status {status}")
    return Result(
        failure="; ".join(failures) or None,
        report=f"{text}\n{json.dumps(report, default=str)}",
    )
