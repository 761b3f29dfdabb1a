"""The SDK clients the checks share: built on first use, reused by warm invocations."""

from __future__ import annotations

import os
import threading
from functools import cache
from typing import Any

from dr_health.late_write import refuse_if_late

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 3.0
# The canary writes: guarded on every attempt, since botocore's retries resend the same (by
# then perhaps older) canary.
CANARY_WRITES = {"dynamodb": "PutItem", "s3": "PutObject"}

_lock = threading.Lock()


def client(service: str) -> Any:
    # The checks run in threads, and boto3's default session must not create clients
    # concurrently (it can fail with KeyError on a cold start): one at a time.
    with _lock:
        return _new_client(service)


@cache
def _new_client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    # AWS_REGION, like the IAM token: botocore itself reads only AWS_DEFAULT_REGION.
    new = boto3.client(service, region_name=os.environ["AWS_REGION"], config=config)
    if operation := CANARY_WRITES.get(service):
        new.meta.events.register(f"before-send.{service}.{operation}", refuse_if_late)
    return new


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None
