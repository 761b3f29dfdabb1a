"""Credentials the stand-in knows, and SigV4 checks of each request against them.

Every AWS request must be signed (SigV4) by a key the stand-in knows: a base key registered
through the control API, or temporary credentials moto's STS issued (which must come with
their session token), looked up through the issuer the stand-in was given. The signature is
recomputed with botocore's own signer, so a request that claims an access key it cannot sign
for is refused, as AWS would. A base key is its own principal; temporary credentials count as
the role they were issued for, so scripts and faults meant for a role's session are scoped to
that role. A base key may be registered with the account view (`account_view`): the stage's
operator (the developer's admin key), who lists every principal's recovery points and restore
jobs, as `dr` must; everyone else lists only their own.
"""

from __future__ import annotations

import hmac
import secrets
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials

ACCOUNT_ID = "123456789012"  # moto's default account, so ARNs agree across both servers


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    # Whom scripts and faults are scoped to: the base key itself, or the assumed role's ARN.
    principal: str = ""
    arn: str = ""
    # Lists every principal's recovery points and restore jobs (the stage's operator).
    account_view: bool = False


@dataclass(frozen=True)
class Caller:
    """Who signed a request, and for which service and Region."""

    credentials: Credentials
    service: str
    region: str


class AuthError(Exception):
    """`kind` is one of: missing, unknown_key, bad_token, bad_signature."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


# Temporary credentials by access key id (None: not issued), from the STS that issued them.
Issuer = Callable[[str], "Credentials | None"]


class CredentialStore:
    def __init__(self, issuer: Issuer | None = None) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, Credentials] = {}
        self._issuer = issuer

    def register(
        self, access_key_id: str, secret_access_key: str, *, account_view: bool = False
    ) -> Credentials:
        """A base (long-term) key, e.g. a developer's or the pipeline runner's."""
        credentials = Credentials(
            access_key_id,
            secret_access_key,
            principal=access_key_id,
            arn=f"arn:aws:iam::{ACCOUNT_ID}:user/{access_key_id}",
            account_view=account_view,
        )
        with self._lock:
            self._by_key[access_key_id] = credentials
        return credentials

    def create(self) -> Credentials:
        upper = string.ascii_uppercase + string.digits
        return self.register("AKIA" + _random(upper, 16), _random(string.ascii_letters, 40))

    def authenticate(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> Caller:
        lower = {name.lower(): value for name, value in headers.items()}
        fields = _parse_authorization(lower.get("authorization", ""))
        if fields is None:
            raise AuthError("missing", "Missing Authentication Token")
        access_key_id, _date, region, service = fields["Credential"].split("/")[:4]
        with self._lock:
            credentials = self._by_key.get(access_key_id)
        if credentials is None and self._issuer is not None and access_key_id.startswith("ASIA"):
            credentials = self._issuer(access_key_id)
            if credentials is not None:
                with self._lock:
                    self._by_key[access_key_id] = credentials
        if credentials is None:
            raise AuthError("unknown_key", "The security token included in the request is invalid")
        token = lower.get("x-amz-security-token")
        if token != credentials.session_token:
            raise AuthError("bad_token", "The security token included in the request is invalid")
        expected = _signature(
            credentials,
            service=service,
            region=region,
            method=method,
            raw_path=raw_path,
            headers=lower,
            body=body,
            fields=fields,
        )
        if not hmac.compare_digest(expected, fields["Signature"]):
            raise AuthError(
                "bad_signature",
                "The request signature we calculated does not match the signature you provided",
            )
        return Caller(credentials, service, region)


def _parse_authorization(value: str) -> dict[str, str] | None:
    algorithm, _, rest = value.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        return None
    fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        return None
    return fields


def _signature(
    credentials: Credentials,
    *,
    service: str,
    region: str,
    method: str,
    raw_path: str,
    headers: Mapping[str, str],  # names in lower case
    body: bytes,
    fields: Mapping[str, str],
) -> str:
    # The same recomputation moto does: only the signed headers, the path as sent, the body.
    signed = set(fields["SignedHeaders"].split(";"))
    request = AWSRequest(
        method=method,
        url=f"http://{headers.get('host', '')}{raw_path}",
        data=body,
        headers={name: value for name, value in headers.items() if name in signed},
    )
    request.context["timestamp"] = headers.get("x-amz-date", "")
    signer = SigV4Auth(
        BotocoreCredentials(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token
        ),
        service,
        region,
    )
    canonical = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical), request))
