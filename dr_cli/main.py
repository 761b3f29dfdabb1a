"""The command line: `dr status`, `dr restore`, `dr drill` (each with --help)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from dr_cli.errors import INTERRUPTED, UNUSABLE, describe
from dr_cli.stage import STORES

DESCRIPTION = """\
The DR runbook as code: the posture of a deployed DR stage, a restore of one store into a new
resource, and a drill that restores every store, measures RPO and RTO against the stage's
targets and deletes what it made. A stage is named as in cdk.json (dev, prod, ...); its stacks'
outputs say the rest. Credentials and Region: the AWS SDK's usual settings (AWS_PROFILE,
AWS_REGION, ...), or --profile and --region."""


def seconds(text: str) -> float:
    """A bound or interval: a finite number above 0 (NaN or infinity would never end)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number of seconds above 0")
    return value


POLL_HELP = "first interval between polls, seconds (15; doubling, at most 60)"


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block: `dr <command> --help` has the usage.
        self.exit(UNUSABLE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> Parser:
    parser = Parser(prog="dr", description=DESCRIPTION)
    common = Parser(add_help=False)
    common.add_argument("--region", help="the stage's Region (default: AWS_REGION)")
    common.add_argument("--profile", help="an AWS profile (default: AWS_PROFILE)")
    common.add_argument(
        "--json",
        action="store_true",
        help="print the result as JSON on stdout (progress on stderr)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    status = commands.add_parser(
        "status",
        parents=[common],
        help="the stage's DR posture now",
        description="Health check (invoked now), newest recovery point and latest restorable "
        "time per store, the last restore test's verdict and measured RPO/RTO, alarms, "
        "vault lock. Exit 1 when anything is not fine or could not be read.",
    )
    status.add_argument("stage", help="the stage, as named in cdk.json")

    restore = commands.add_parser(
        "restore",
        parents=[common],
        help="restore one store into a NEW resource, verify it, print the cut-over",
        description="Restores into a new table, bucket or cluster (never over the live one) "
        "with the stage's network, key and settings, waits for it, reads its canary, prints "
        "the measured RPO and restore time, and the steps to cut over.",
    )
    restore.add_argument("stage", help="the stage, as named in cdk.json")
    restore.add_argument("store", choices=STORES, help="which store")
    restore.add_argument(
        "--to",
        required=True,
        metavar="TIME|latest|RECOVERY_POINT_ARN",
        help="an ISO 8601 time (UTC if no zone; point-in-time recovery), `latest`, or a "
        "recovery point's ARN",
    )
    restore.add_argument("--name", help="the new resource's name (default: generated)")
    restore.add_argument(
        "--yes", action="store_true", help="required for a stage whose removal posture is retain"
    )
    restore.add_argument(
        "--timeout", type=seconds, default=4 * 3600, help="bound on each wait, seconds (4 h)"
    )
    restore.add_argument("--poll", type=seconds, default=15.0, help=POLL_HELP)

    drill = commands.add_parser(
        "drill",
        parents=[common],
        help="restore each store, measure RPO/RTO against the targets, clean up",
        description="Restores each chosen store from its newest recovery point (and the table "
        "by its own point-in-time recovery too), reads the canaries, judges RPO and RTO "
        "against the stage's targets, deletes everything it created (also on Ctrl-C) and "
        "prints a report. Exit 1 when a store fails.",
    )
    drill.add_argument("stage", help="the stage, as named in cdk.json")
    drill.add_argument(
        "--stores",
        nargs="+",
        choices=STORES,
        default=list(STORES),
        metavar="STORE",
        help=f"which stores (default: all of {', '.join(STORES)})",
    )
    drill.add_argument(
        "--timeout", type=seconds, default=4 * 3600, help="bound on each wait, seconds (4 h)"
    )
    drill.add_argument("--poll", type=seconds, default=15.0, help=POLL_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("dr: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as error:
        print(f"dr: {describe(error)}", file=sys.stderr)
        return UNUSABLE


def run(args: argparse.Namespace) -> int:
    from dr_cli import commands

    if args.command == "status":
        return commands.status(args)
    if args.command == "restore":
        return commands.restore(args)
    return commands.drill(args)
