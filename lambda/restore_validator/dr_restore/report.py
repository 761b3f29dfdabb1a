"""PutRestoreValidationResult, exactly once per restore job.

SQS delivers at least once and a validation spans several messages, so the verdict may be
reached twice. A final ValidationStatus cannot be changed (AWS Backup API reference), so the
job is described right before reporting: already validated, nothing is sent. If two
deliveries race past that check, the loser's PutRestoreValidationResult fails, the job is
described again, and a final status there means the other one reported. Any other failure
is raised: the message stays on the queue and its next delivery reports.
"""

from __future__ import annotations

from typing import Any

from dr_common.objectives import Verdict
from dr_common.restore_job import RestoreJob

# The API reference names no length limit for ValidationStatusMessage; the reason is one
# line, kept short enough for a console column and an email.
MAX_MESSAGE = 1000


def describe(backup: Any, job_id: str) -> RestoreJob:
    return RestoreJob.from_answer(backup.describe_restore_job(RestoreJobId=job_id))


def report_once(backup: Any, job_id: str, verdict: Verdict) -> bool:
    """True if this call set the job's validation result; False if it was set already."""
    if describe(backup, job_id).validated:
        return False
    try:
        backup.put_restore_validation_result(
            RestoreJobId=job_id,
            ValidationStatus=verdict.status,
            ValidationStatusMessage=verdict.reason[:MAX_MESSAGE],
        )
    except Exception:
        if describe(backup, job_id).validated:
            return False
        raise
    return True
