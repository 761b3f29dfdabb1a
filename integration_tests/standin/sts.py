"""STS stand-in: AssumeRole (query protocol, XML answer) issuing temporary credentials.

Only roles registered through the control API can be assumed; any other ARN is refused with
AccessDenied, as IAM refuses a role whose trust policy does not name the caller. The issued
credentials are what later requests must be signed with (see auth.py).
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime

from integration_tests.standin.auth import ACCOUNT_ID, Caller, CredentialStore
from integration_tests.standin.protocol import AwsError, Request, Response

_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"


class StsService:
    def __init__(self, credentials: CredentialStore) -> None:
        self._credentials = credentials
        self._lock = threading.Lock()
        self._roles: dict[str, int] = {}  # role ARN -> MaxSessionDuration (seconds)

    def add_role(self, arn: str, max_session_seconds: int = 3600) -> None:
        with self._lock:
            self._roles[arn] = max_session_seconds

    @staticmethod
    def operation(request: Request) -> str | None:
        if request.method != "POST" or request.path != "/":
            return None
        return request.form().get("Action")

    def handle(self, operation: str, request: Request, caller: Caller) -> Response:
        if operation != "AssumeRole":
            raise AwsError("InvalidAction", f"Could not find operation {operation}")
        form = request.form()
        role_arn, session_name = form.get("RoleArn", ""), form.get("RoleSessionName", "")
        with self._lock:
            max_seconds = self._roles.get(role_arn)
        if max_seconds is None:
            raise AwsError(
                "AccessDenied",
                f"User: {caller.credentials.arn} is not authorized to perform: "
                f"sts:AssumeRole on resource: {role_arn}",
                403,
            )
        if not _SESSION_NAME.match(session_name):
            raise AwsError("ValidationError", f"Invalid RoleSessionName: {session_name!r}")
        duration = int(form.get("DurationSeconds", "3600"))
        if not 900 <= duration <= max_seconds:
            raise AwsError(
                "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            )
        role_name = role_arn.rsplit("/", 1)[-1]
        assumed_arn = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/{session_name}"
        issued = self._credentials.issue(caller.credentials, assumed_arn)
        expiration = datetime.fromtimestamp(time.time() + duration, UTC)
        body = (
            f'<AssumeRoleResponse xmlns="{_XMLNS}"><AssumeRoleResult>'
            f"<AssumedRoleUser><AssumedRoleId>AROA{ACCOUNT_ID}:{session_name}</AssumedRoleId>"
            f"<Arn>{assumed_arn}</Arn></AssumedRoleUser>"
            f"<Credentials><AccessKeyId>{issued.access_key_id}</AccessKeyId>"
            f"<SecretAccessKey>{issued.secret_access_key}</SecretAccessKey>"
            f"<SessionToken>{issued.session_token}</SessionToken>"
            f"<Expiration>{expiration.strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration></Credentials>"
            "</AssumeRoleResult></AssumeRoleResponse>"
        )
        return Response(
            200,
            body.encode(),
            {"Content-Type": "text/xml"},
            record={"IssuedAccessKeyId": issued.access_key_id},
        )
