"""What stops a command: one line for a person, and an exit status.

Exit statuses: 0 done (and, for a drill, every store proven); 1 a store failed its restore
or its targets; 2 the command could not run (bad input, no credentials, an AWS error, a wait
past its bound); 130 interrupted.
"""

from __future__ import annotations

from dr_common.errors import one_line

FAILED = 1
UNUSABLE = 2
INTERRUPTED = 130


class CliError(Exception):
    """A one-line reason the command cannot go on."""


def describe(error: BaseException) -> str:
    """Any error as the one line a person reads: what went wrong and what to do."""
    from botocore import exceptions as boto

    if isinstance(error, CliError):
        return str(error)
    advice = (
        (
            (boto.NoCredentialsError, boto.PartialCredentialsError),
            "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY) for the stage's account",
        ),
        (
            (boto.NoRegionError,),
            "no AWS Region: pass --region or set AWS_REGION to the stage's Region",
        ),
        ((boto.ProfileNotFound,), f"{error} (AWS_PROFILE or --profile)"),
        (
            (boto.TokenRetrievalError, boto.SSOTokenLoadError),
            f"the SSO session has expired: run `aws sso login` ({one_line(error)})",
        ),
        ((boto.EndpointConnectionError, boto.ConnectTimeoutError), f"cannot reach AWS: {error}"),
    )
    for kinds, line in advice:
        if isinstance(error, kinds):
            return line
    if isinstance(error, boto.ClientError):
        return f"{getattr(error, 'operation_name', '') or 'AWS'} failed: {one_line(error)}"
    return one_line(error)
