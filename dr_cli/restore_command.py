"""`dr restore STAGE STORE --to ...`: one store into a new resource, verified and measured,
with the cut-over steps. The restored resource is kept (it is the point); if the command
fails or is interrupted, it says what exists and how to delete it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from dr_cli import cutover, sources
from dr_cli.aws import Aws
from dr_cli.cleanup import Cleanup, describe_left
from dr_cli.errors import FAILED, CliError
from dr_cli.judging import Judged, read_and_judge
from dr_cli.progress import Progress
from dr_cli.restores import Restorer, Timing, new_name
from dr_cli.stage import Stage

_NAMES = {
    "dynamodb": (re.compile(r"^[A-Za-z0-9_.-]{3,255}$"), "3-255 letters, digits, _ . -"),
    "s3": (
        re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"),
        "3-63 lower-case letters, digits and hyphens",
    ),
    "aurora": (
        re.compile(r"^[A-Za-z](?:-?[A-Za-z0-9]){0,60}$"),
        "1-61 letters, digits and single hyphens, from a letter",
    ),
}


def check_name(stage: Stage, store: str, name: str) -> str:
    pattern, rule = _NAMES[store]
    if not pattern.match(name):
        raise CliError(f"--name {name!r} is not a valid {store} name ({rule})")
    live = {"dynamodb": stage.table_name, "s3": stage.bucket_name, "aurora": stage.cluster_id}
    if name == live[store]:
        raise CliError(
            f"--name {name!r} is the live {store} resource: a restore never overwrites it"
        )
    return name


def run(
    aws: Aws,
    stage: Stage,
    store: str,
    to: str,
    *,
    name: str | None,
    yes: bool,
    timing: Timing,
    progress: Progress,
    now: Callable[[], datetime],
) -> tuple[int, dict[str, Any], str]:
    source = sources.parse(to)
    if stage.output("RemovalPosture") == "retain" and not yes:
        raise CliError(
            f"stage {stage.name} keeps its data (removal: retain): pass --yes to restore there"
        )
    name = check_name(stage, store, name or new_name(stage, store, "restore", now()))
    cleanup = Cleanup(aws, progress)
    restorer = Restorer(aws, stage, progress=progress, cleanup=cleanup, timing=timing, now=now)
    progress.say(f"restoring {store} of {stage.name} from {source.describe()} into {name}")
    try:
        restored = restorer.restore(store, source, name)
        judged = read_and_judge(
            aws,
            stage=stage,
            restorer=restorer,
            restored=restored,
            instance_class=stage.output("DbInstanceClass"),
            now=now,
        )
    except BaseException:
        if cleanup.created:
            progress.say(describe_left(cleanup, "kept (delete by hand if unwanted)"))
        raise
    steps = cutover.steps(stage, store, name)
    result = {**judged.as_dict(), "stage": stage.name, "cutover": steps}
    return (0 if judged.verdict.successful else FAILED), result, render(judged, steps)


def render(judged: Judged, steps: list[str]) -> str:
    data = judged.as_dict()
    lines = [
        f"restored {data['store']} into {data['resource']}",
        f"  how:        {data['how']}",
        f"  restore:    {data['restoreSeconds']:.0f} s "
        f"(requested {sources.stamp(judged.restored.requested_at)})",
        f"  canary:     {data['canaryWrittenAt'] or 'none'}",
        f"  RPO:        {_seconds(data['rpoSeconds'])}",
        f"  RTO:        {_seconds(data['rtoSeconds'])}",
        f"  verdict:    {data['verdict']}: {data['reason']}",
        "cut-over:",
        *(f"  {index}. {step}" for index, step in enumerate(steps, 1)),
    ]
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0f} s"
