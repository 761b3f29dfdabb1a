"""Secrets out of every message the report and the logs carry."""

from __future__ import annotations

import os
import re

MAX_ERROR_LENGTH = 300
REDACTED = "<redacted>"
# What a driver or SDK error could echo: a signed query string (the database IAM token is
# one), credentials in a URL (a DSN), `key=value` or `key: value` secrets, and AWS access key
# ids.
_SECRETS = (
    (re.compile(r"\?[^\s'\"]*x-amz-[^\s'\"]*", re.IGNORECASE), f"?{REDACTED}"),
    (re.compile(r"\b([a-z][a-z0-9+.-]*://)[^/\s@]+@", re.IGNORECASE), rf"\1{REDACTED}@"),
    (
        re.compile(
            r"\b([\w-]*(?:password|passwd|pwd|secret|token|signature|credential)[\w-]*"
            r"['\"]?\s*[:=]\s*['\"]?)[^\s'\",;&}]+",
            re.IGNORECASE,
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), REDACTED),
)
_CREDENTIAL_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID")


def sanitize(message: str) -> str:
    """The message without anything secret, redacted before it is cut to length (so a cut
    cannot leave half a secret that no longer matches)."""
    for variable in _CREDENTIAL_VARIABLES:
        if value := os.environ.get(variable):
            message = message.replace(value, REDACTED)
    for pattern, replacement in _SECRETS:
        message = pattern.sub(replacement, message)
    return message[:MAX_ERROR_LENGTH]
