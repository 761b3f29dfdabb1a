"""`dr drill STAGE`: every chosen store restored, read, judged against the stage's targets,
and everything it created deleted, also when interrupted.

What is restored: DynamoDB from its newest recovery point (AWS Backup) and by the table's own
point-in-time recovery (latest); S3 from its newest recovery point (continuous: 15 minutes
ago); Aurora by the cluster's point-in-time recovery (latest), with one small instance to read
it. Stores run one after another; a store that fails does not stop the others. Exit 0 when
every restore was validated, 1 when one failed, 130 when interrupted (after cleaning up).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dr_cli.aws import Aws
from dr_cli.cleanup import Cleanup
from dr_cli.errors import FAILED, INTERRUPTED, describe
from dr_cli.judging import Judged, read_and_judge
from dr_cli.progress import Progress
from dr_cli.restores import Restorer, Timing, new_name, recovery_points
from dr_cli.sources import Source
from dr_cli.stage import Stage

# The smallest class that serves a direct connection: the drill only reads.
DRILL_INSTANCE_CLASS = "db.t4g.medium"


@dataclass(frozen=True)
class Outcome:
    store: str
    source: str
    judged: Judged | None
    error: str | None  # the restore itself failed

    @property
    def successful(self) -> bool:
        return self.judged is not None and self.judged.verdict.successful

    def as_dict(self) -> dict[str, Any]:
        found = self.judged.as_dict() if self.judged else {"store": self.store}
        if self.error:
            found.update(verdict="FAILED", reason=f"{self.store}: {self.error}")
        return {"source": self.source, **found}


@dataclass
class Drill:
    aws: Aws
    stage: Stage
    progress: Progress
    timing: Timing
    now: Callable[[], datetime]

    def plan(self, stores: list[str]) -> list[tuple[str, str, Source | None]]:
        """(store, what is restored, source): None when there is nothing to restore from."""
        planned: list[tuple[str, str, Source | None]] = []
        for store in stores:
            if store == "aurora":
                planned.append((store, "cluster point-in-time recovery (latest)", Source("latest")))
                continue
            points = recovery_points(self.aws, self.stage.resource_arn(store))
            newest = Source("point", point_arn=points[0]["RecoveryPointArn"]) if points else None
            planned.append((store, "newest recovery point (AWS Backup)", newest))
            if store == "dynamodb":
                planned.append((store, "table point-in-time recovery (latest)", Source("latest")))
        return planned

    def run(self, stores: list[str]) -> tuple[int, dict[str, Any], str]:
        return self.run_plan(self.plan(stores))

    def run_plan(
        self, planned: list[tuple[str, str, Source | None]]
    ) -> tuple[int, dict[str, Any], str]:
        """The drill of a plan (see `plan`): (exit status, report, the report as text)."""
        cleanup = Cleanup(
            self.aws,
            self.progress,
            poll_seconds=self.timing.poll_seconds,
            max_poll_seconds=self.timing.max_poll_seconds,
        )
        restorer = Restorer(
            self.aws,
            self.stage,
            progress=self.progress,
            cleanup=cleanup,
            timing=self.timing,
            now=self.now,
        )
        outcomes: list[Outcome] = []
        interrupted = False
        try:
            for store, what, source in planned:
                outcomes.append(self._one(restorer, store, what, source))
        except KeyboardInterrupt:
            interrupted = True
            self.progress.say("interrupted: deleting what the drill created")
        finally:
            left = cleanup.run()
        report = {
            "stage": self.stage.name,
            "interrupted": interrupted,
            "outcomes": [o.as_dict() for o in outcomes],
            "leftBehind": left,
        }
        if interrupted:
            status = INTERRUPTED
        elif left or not outcomes or not all(o.successful for o in outcomes):
            status = FAILED
        else:
            status = 0
        return status, report, render(report)

    def _one(self, restorer: Restorer, store: str, what: str, source: Source | None) -> Outcome:
        if source is None:
            return Outcome(store, what, None, "no restorable recovery point")
        self.progress.say(f"drill: {store} from {what}")
        try:
            restored = restorer.restore(
                store, source, new_name(self.stage, store, "drill", self.now())
            )
            judged = read_and_judge(
                self.aws,
                stage=self.stage,
                restorer=restorer,
                restored=restored,
                instance_class=DRILL_INSTANCE_CLASS,
                now=self.now,
            )
        except KeyboardInterrupt:
            raise
        except Exception as error:
            return Outcome(store, what, None, describe(error))
        self.progress.say(f"drill: {judged.verdict.status}: {judged.verdict.reason}")
        return Outcome(store, what, judged, None)


def render(report: dict[str, Any]) -> str:
    rows = [("STORE", "SOURCE", "VERDICT", "RPO", "RTO", "RESTORE", "REASON")]
    for o in report["outcomes"]:
        rows.append(
            (
                o["store"],
                o["source"],
                o["verdict"],
                _seconds(o.get("rpoSeconds")),
                _seconds(o.get("rtoSeconds")),
                _seconds(o.get("restoreSeconds")),
                o["reason"],
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(6)]
    lines = [f"DR drill of {report['stage']}"]
    lines += [
        "  ".join(f"{v!s:<{widths[i]}}" for i, v in enumerate(row[:6])) + f"  {row[6]}"
        for row in rows
    ]
    if report["leftBehind"]:
        lines.append("LEFT BEHIND (delete by hand):")
        lines += [f"  {line}" for line in report["leftBehind"]]
    else:
        lines.append("cleaned up: nothing the drill created is left")
    if report["interrupted"]:
        lines.append("INTERRUPTED: the drill did not finish")
    elif report["leftBehind"]:
        lines.append("NOT CLEAN: restores were left behind (above)")
    elif all(o["verdict"] == "SUCCESSFUL" for o in report["outcomes"]) and report["outcomes"]:
        lines.append("every store restored and proven")
    else:
        lines.append("NOT PROVEN: see the FAILED rows")
    return "\n".join(lines)


def _seconds(value: object) -> str:
    return "-" if not isinstance(value, int | float) else f"{value:.0f} s"
