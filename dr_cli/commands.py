"""Each command: its stage and clients from the arguments, its work, its output, its exit
status (errors.py)."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime

from dr_cli import restore_command
from dr_cli import status as status_module
from dr_cli.aws import Aws
from dr_cli.drill import Drill
from dr_cli.errors import FAILED
from dr_cli.progress import Progress
from dr_cli.restores import Timing
from dr_cli.stage import Stage


def now() -> datetime:
    return datetime.now(UTC)


def emit(result: object, text: str, as_json: bool) -> None:
    print(json.dumps(result, indent=2, default=str) if as_json else text, flush=True)


def _stage(args: argparse.Namespace) -> tuple[Aws, Stage]:
    # AWS_REGION as the AWS CLI and the Lambda runtime read it (boto3 reads only
    # AWS_DEFAULT_REGION and the profile's).
    aws = Aws(region=args.region or os.environ.get("AWS_REGION"), profile=args.profile)
    return aws, Stage.load(aws, args.stage)


def status(args: argparse.Namespace) -> int:
    aws, stage = _stage(args)
    report = status_module.gather(aws, stage, now)
    emit(report.as_dict(), status_module.render(report), args.json)
    return 0 if report.fine else FAILED


def _timing(args: argparse.Namespace) -> Timing:
    return Timing(
        bound_seconds=args.timeout,
        poll_seconds=args.poll,
        max_poll_seconds=max(args.poll, min(60.0, args.poll * 4)),
    )


def restore(args: argparse.Namespace) -> int:
    aws, stage = _stage(args)
    status, result, text = restore_command.run(
        aws,
        stage,
        args.store,
        args.to,
        name=args.name,
        yes=args.yes,
        timing=_timing(args),
        progress=Progress(),
        now=now,
    )
    emit(result, text, args.json)
    return status


def drill(args: argparse.Namespace) -> int:
    aws, stage = _stage(args)
    status, report, text = Drill(aws, stage, Progress(), _timing(args), now).run(
        list(dict.fromkeys(args.stores))
    )
    emit(report, text, args.json)
    return status
