"""Target selection and shared fixtures for the integration suite.

Three targets, one suite:
- `local` (the default; `make test`): no AWS at all. The servers of integration_tests/local
  stand in for the stage, and the local-only fault tests (test_local_*.py) run too.
- `env` (the pipeline's post-deploy step): the stage's outputs and settings come from the
  environment, see target.py's REQUIRED and the README.
- a stage name, e.g. `Dev`: the outputs of the deployed `Dev-Data` and `Dev-Service` stacks,
  read with the caller's own credentials.

Choose with `--target` or DR_TARGET. The backup test runs when the target says so
(BACKUP_TEST; for a stage name, its `BackupTestOnRelease` output unless --backup-test is
given; always locally); otherwise it is reported as skipped with the reason, in the terminal
summary and in the JUnit report, never passed silently. Bad settings (a missing variable, a
bound that is not a finite number above 0) stop the run before any test, in one line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from integration_tests.local.harness import LocalStage
from integration_tests.local.harness import local_stage as start_local_stage
from integration_tests.local.suite_run import NESTED_RUN
from integration_tests.target import (
    Target,
    TargetError,
    backup_flag,
    build_session,
    finite_positive,
    poll_settings,
    smoke_settings,
    target_from_env,
    target_from_stacks,
)

LOCAL, ENV = "local", "env"
# Fixtures shared by the local restore tests live in a module, registered here.
pytest_plugins = ["integration_tests.local.fixtures"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dr", "DR stage integration tests")
    group.addoption(
        "--target",
        default=os.environ.get("DR_TARGET") or LOCAL,
        help="local (default), env (outputs from the environment), or a stage name, e.g. Dev",
    )
    group.addoption(
        "--backup-test",
        default=None,
        choices=("true", "false"),
        help="stage-name target: run the on-demand backup job test or not (default: what the "
        "stage's BackupTestOnRelease output says, i.e. its config's backup.testOnRelease)",
    )
    group.addoption(
        "--backup-retention-days",
        type=int,
        default=None,
        help="stage-name target: the job's DeleteAfterDays (default: the vault lock's minimum)",
    )
    group.addoption(
        "--backup-timeout-seconds",
        type=float,
        default=2700.0,
        help="stage-name target: the backup job's hard time bound",
    )
    group.addoption(
        "--drill",
        default="false",
        choices=("true", "false"),
        help="stage-name target: restore the table (from the backup test's recovery point) and "
        "the bucket into new resources, judge their canaries, delete them (default: false; "
        "the pipeline's step follows the stage's backup.drillOnRelease)",
    )
    group.addoption(
        "--assume-role",
        action="store_true",
        help="stage-name target: assume the stack's PostDeployRoleArn (which trusts only the "
        "pipeline's runner role) instead of using your own credentials",
    )


def target_kind(config: pytest.Config) -> str:
    value = str(config.getoption("--target"))
    return value.lower() if value.lower() in (LOCAL, ENV) else value


def pytest_configure(config: pytest.Config) -> None:
    """Refuse bad settings now, in one line (exit code 4), not after the first test."""
    config.addinivalue_line("markers", "backup: starts a real on-demand AWS Backup job")
    config.addinivalue_line("markers", "drill: restores stores into new resources (after backup)")
    kind = target_kind(config)
    try:
        if kind == ENV:
            target_from_env(os.environ)
        elif kind == LOCAL:
            if os.environ.get(NESTED_RUN):
                raise TargetError("a suite run started by the local tests must target a stage")
        else:
            # A stage name: the stacks are read by the `target` fixture; the settings now.
            finite_positive(
                float(config.getoption("--backup-timeout-seconds")), "--backup-timeout-seconds"
            )
            days = config.getoption("--backup-retention-days")
            if days is not None and days < 1:
                raise TargetError(f"--backup-retention-days must be at least 1, not {days}")
            poll_settings(os.environ)
            smoke_settings(os.environ)
    except TargetError as error:
        raise pytest.UsageError(str(error)) from error


def pytest_report_header(config: pytest.Config) -> str:
    return f"DR target: {target_kind(config)}"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # Fault tests drive the local servers: they have nothing to run against a deployed stage.
    if collection_path.name.startswith("test_local_") and target_kind(config) != LOCAL:
        return True
    return None


def _phase(item: pytest.Item) -> int:
    if item.get_closest_marker("drill"):
        return 2
    return 1 if item.get_closest_marker("backup") else 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The quick smoke test reports first, before a long wait; then the backup job; the drill
    # last, as it restores the recovery point the backup job made.
    items.sort(key=_phase)


@pytest.fixture(scope="session")
def release_points() -> dict[str, str]:
    """What this run's backup test made, for the drill: store -> recovery point ARN."""
    return {}


@pytest.fixture(scope="session")
def local_stage() -> Iterator[LocalStage]:
    """The local servers, and this process's environment pointed at them (restored after):
    the post-deploy contract, with the post-deploy role to assume."""
    with start_local_stage() as stage, pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith("AWS_"):  # no profile, token or endpoint of the developer's
                env.delenv(name)
        for name, value in stage.post_deploy_env(stage.moto.admin).items():
            env.setenv(name, value)
        yield stage


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Target:
    kind = target_kind(request.config)
    try:
        if kind == LOCAL:
            request.getfixturevalue("local_stage")
            return target_from_env(os.environ)
        if kind == ENV:
            return target_from_env(os.environ)
        backup_test = request.config.getoption("--backup-test")
        return target_from_stacks(
            kind,
            backup_test=None if backup_test is None else backup_flag(backup_test, "--backup-test"),
            retention_days=request.config.getoption("--backup-retention-days"),
            timeout_seconds=float(request.config.getoption("--backup-timeout-seconds")),
            assume_role=bool(request.config.getoption("--assume-role")),
            env=os.environ,
            drill=backup_flag(str(request.config.getoption("--drill")), "--drill"),
        )
    except (TargetError, ClientError, BotoCoreError) as error:
        pytest.fail(f"cannot resolve DR target {kind!r}: {error}", pytrace=False)


@pytest.fixture(scope="session")
def aws(target: Target) -> Any:
    """The boto3 session every check uses: the assumed post-deploy role's when one is set."""
    return build_session(target)


@pytest.fixture
def progress(pytestconfig: pytest.Config) -> Callable[[str], None]:
    """Write a line to the terminal now, even while pytest captures output (so progress shows
    live in CodeBuild's log, with or without -s)."""
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")

    def write(line: str) -> None:
        if reporter is None:
            print(line, flush=True)
            return
        with capture.global_and_fixture_disabled() if capture else nullcontext():
            reporter.write_line(line)
            reporter.flush()

    return write
