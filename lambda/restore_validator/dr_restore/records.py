"""One step-queue message, from its body to what it leads to (entry.py calls this per record).

A message that is neither a restore job event nor a step is logged and dropped: delivering it
again could never help. Without usable settings nothing can be judged, but a completed job
still gets its verdict (FAILED, saying why) rather than waiting out its validation window.
"""

from __future__ import annotations

import os
from pathlib import Path

from dr_common.objectives import FAILED, Verdict
from dr_restore import messages
from dr_restore.log import logger
from dr_restore.report import report_once
from dr_restore.settings import Settings, SettingsError
from dr_restore.validation import Services, Validator

# The bundle's root: DB_CA_BUNDLE names a file there.
BUNDLE_ROOT = Path(__file__).resolve().parents[1]


def process(body: str, services: Services) -> None:
    try:
        message = messages.parse(body)
    except messages.MessageError as error:
        logger.error(
            "Dropped a message that is no restore job event or step", extra={"error": str(error)}
        )
        return
    try:
        settings = Settings.from_env(os.environ, BUNDLE_ROOT)
    except SettingsError as error:
        _misconfigured(message, services, str(error))
        return
    validator = Validator(settings, services)
    if isinstance(message, messages.Step):
        validator.on_step(message)
    else:
        validator.on_event(message)


def _misconfigured(
    message: messages.JobEvent | messages.Step, services: Services, error: str
) -> None:
    logger.error("The validator's settings are unusable", extra={"error": error})
    if isinstance(message, messages.Step):
        job_id = message.job.job_id
    elif message.status == "COMPLETED" and message.plan_arn:
        job_id = message.job_id
    else:
        return
    verdict = Verdict(FAILED, f"validator misconfigured: {error}")
    report_once(services.client("backup"), job_id, verdict)
