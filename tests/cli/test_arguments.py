"""`dr`'s command line: help, one-line errors, sources and names (no AWS involved)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dr_cli import sources
from dr_cli.errors import CliError
from dr_cli.restore_command import check_name
from dr_cli.stage import Stage, stack_prefix

ROOT = Path(__file__).resolve().parents[2]
STAGE = Stage(
    "Dev",
    "us-east-1",
    {
        "TableName": "Dev-Data-Table",
        "TableArn": "arn:aws:dynamodb:us-east-1:111111111111:table/Dev-Data-Table",
        "BucketName": "dev-data-bucket",
        "ClusterArn": "arn:aws:rds:us-east-1:111111111111:cluster:dev-data-cluster",
    },
)


def dr(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dr_cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_every_command_has_help() -> None:
    for command in ((), ("status",), ("restore",), ("drill",)):
        done = dr(*command, "--help")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("usage: dr")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("restore", "dev", "redis", "--to", "latest"), "invalid choice: 'redis'"),
        (("restore", "dev", "s3"), "the following arguments are required: --to"),
        (("drill", "dev", "--timeout", "inf"), "must be a finite number of seconds above 0"),
        (("drill", "dev", "--poll", "soon"), "'soon' is not a number of seconds"),
        (("fly",), "invalid choice: 'fly'"),
    ],
)
def test_bad_arguments_are_one_line(args: tuple[str, ...], message: str) -> None:
    done = dr(*args)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert message in line and line.startswith("dr")


def test_no_credentials_or_region_is_one_line(tmp_path: Path) -> None:
    nothing = str(tmp_path / "none")
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_CONFIG_FILE": nothing,
        "AWS_SHARED_CREDENTIALS_FILE": nothing,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = dr("status", "dev", env=env)
    assert (done.returncode, done.stderr) == (
        2,
        "dr: no AWS Region: pass --region or set AWS_REGION to the stage's Region\n",
    )
    done = dr("status", "dev", env={**env, "AWS_REGION": "eu-west-1"})
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("dr: no AWS credentials: set AWS_PROFILE")


def test_stage_names_become_stack_prefixes() -> None:
    assert stack_prefix("dev") == "Dev"
    assert stack_prefix("eu-prod") == "Eu-prod"
    with pytest.raises(CliError, match="is not a stage name"):
        stack_prefix("dev/../prod")


def test_sources() -> None:
    assert sources.parse("latest") == sources.Source("latest")
    arn = "arn:aws:backup:us-east-1:111111111111:recovery-point:abc"
    assert sources.parse(arn) == sources.Source("point", point_arn=arn)
    moment = sources.parse("2026-11-30T08:15:00")
    assert moment.time == datetime(2026, 11, 30, 8, 15, tzinfo=UTC)  # no zone: UTC
    with pytest.raises(CliError, match="is not `latest`, a recovery point ARN or an ISO 8601"):
        sources.parse("yesterday")


def test_a_time_outside_the_window_is_refused_with_the_window() -> None:
    window = sources.Window(
        datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC), "the table's PITR"
    )
    window.check(datetime(2026, 11, 15, tzinfo=UTC))
    with pytest.raises(CliError) as refused:
        window.check(datetime(2026, 12, 1, tzinfo=UTC))
    assert str(refused.value) == (
        "--to 2026-12-01T00:00:00Z is outside the table's PITR's restorable window, "
        "2026-11-01T00:00:00Z to 2026-11-30T00:00:00Z"
    )


def test_names_are_checked_and_never_the_live_resource() -> None:
    assert check_name(STAGE, "s3", "restored-bucket") == "restored-bucket"
    with pytest.raises(CliError, match="never overwrites it"):
        check_name(STAGE, "dynamodb", "Dev-Data-Table")
    with pytest.raises(CliError, match="is not a valid s3 name"):
        check_name(STAGE, "s3", "Upper_Case")
    with pytest.raises(CliError, match="is not a valid aurora name"):
        check_name(STAGE, "aurora", "1starts-with-digit")
