"""What the report says about a failed check: the error's class and a message that explains it.

A PostgreSQL error reaches Python as pg8000's DatabaseError, whose only argument is the
server's ErrorResponse as a dict (`S` severity, `C` SQLSTATE, `M` message, ...): reported as
SQLSTATE and message, e.g. "57014 canceling statement due to statement timeout". pg8000's
InterfaceError("network error") says nothing of why: its cause (a timeout, a reset) is added.
Every message is redacted (redaction.py).
"""

from __future__ import annotations

from typing import Any

from dr_health.redaction import sanitize


def server_error(error: BaseException) -> dict[str, Any] | None:
    """The PostgreSQL ErrorResponse fields a database error carries, if it carries them."""
    fields = error.args[0] if len(error.args) == 1 else None
    if isinstance(fields, dict) and "C" in fields and "M" in fields:
        return fields
    return None


def sqlstate(error: BaseException) -> str | None:
    fields = server_error(error)
    return str(fields["C"]) if fields else None


def _text(error: BaseException) -> str:
    if fields := server_error(error):
        return f"{fields['C']} {fields['M']}"
    text = str(error) or type(error).__name__
    cause = error.__cause__
    if isinstance(cause, OSError) and str(cause) not in text:
        text = f"{text} ({type(cause).__name__}: {cause or 'no detail'})"
    return text


def describe(error: BaseException) -> dict[str, Any]:
    """The report's `error` (the exception's class) and `message` for a failed check."""
    return {"error": type(error).__name__, "message": sanitize(_text(error))}
