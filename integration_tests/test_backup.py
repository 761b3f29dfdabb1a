"""Backup: a real on-demand AWS Backup job of the stage's table completes in its vault."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from integration_tests.backup_job import BackupJobError, BackupRequest, Polling, run_backup_job
from integration_tests.target import BACKUP_CONFIG, Target


@pytest.mark.backup
def test_on_demand_backup_of_the_table_completes(
    target: Target, aws: Any, progress: Callable[[str], None], release_points: dict[str, str]
) -> None:
    settings = target.backup
    if not settings.enabled:
        # Skipped, not deselected: the JUnit report then says that it did not run, and why.
        pytest.skip(
            f"backup job test not selected for stage {target.stage} ({settings.selected_by})"
        )
    request = BackupRequest(
        vault_name=target.vault_name,
        resource_arn=target.table_arn,
        iam_role_arn=target.backup_role_arn,
        delete_after_days=settings.retention_days,
    )
    polling = Polling(
        timeout_seconds=settings.timeout_seconds,
        initial_seconds=settings.poll_initial_seconds,
        max_seconds=settings.poll_max_seconds,
    )
    try:
        status = run_backup_job(
            aws.client("backup", config=BACKUP_CONFIG), request, polling, progress
        )
    except BackupJobError as error:
        failure = str(error)
    else:
        progress(f"[backup] recovery point {status.recovery_point_arn}")
        if status.recovery_point_arn:
            release_points["dynamodb"] = status.recovery_point_arn
        return
    # Outside the except block: there, pytest would also print the exception chain.
    pytest.fail(failure, pytrace=False)
