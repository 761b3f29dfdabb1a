"""Any failure as one line without secrets: a verdict's reason and a log line's message.

An AWS error reads `Code: Message` (botocore's ClientError), a PostgreSQL error `SQLSTATE
message` (pg8000's DatabaseError carries the server's ErrorResponse as a dict), anything else
`Class: message`. What a driver or SDK could echo (a signed query string such as the database
IAM token, credentials in a URL, `password=...`, access key ids) is redacted before the line
is cut to length, so a cut cannot leave half a secret that no longer matches.
"""

from __future__ import annotations

import re

MAX_LENGTH = 300
REDACTED = "<redacted>"
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


def aws_error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a PostgreSQL error (pg8000 DatabaseError), else None."""
    fields = error.args[0] if len(error.args) == 1 else None
    if isinstance(fields, dict) and "C" in fields:
        return str(fields["C"])
    return None


def one_line(error: BaseException) -> str:
    fields = error.args[0] if len(error.args) == 1 else None
    if isinstance(fields, dict) and "C" in fields and "M" in fields:
        text = f"{fields['C']} {fields['M']}"
    elif (code := aws_error_code(error)) is not None:
        message = getattr(error, "response", {}).get("Error", {}).get("Message") or ""
        text = f"{code}: {message}" if message else code
    else:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return redact(" ".join(text.split()))


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text[:MAX_LENGTH]
