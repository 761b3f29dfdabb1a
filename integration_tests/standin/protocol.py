"""Requests, responses and AWS errors in the two wire protocols the stand-in speaks.

rest-json (AWS Backup, Lambda): the error code in the `x-amzn-ErrorType` header and a JSON
body with `Message`, which is what botocore's RestJSONParser reads. query (RDS): answers are
XML `<OperationResponse><OperationResult>...` written from botocore's own output shape (so
list members and nesting are the model's), errors an XML `ErrorResponse` with `Code` and
`Message`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Request:
    method: str
    raw_path: str  # as sent, query string included: the signature covers it
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return unquote(urlsplit(self.raw_path).path)

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.raw_path).query).items()}

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == name), None)

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        value = json.loads(self.body)
        if not isinstance(value, dict):
            raise ValueError("expected a JSON object")
        return value

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Not sent: what the request record should also show (e.g. the key AssumeRole issued).
    record: dict[str, Any] = field(default_factory=dict)
    # Above 0: the body is sent a byte at a time, this many seconds apart (a fault).
    drip_seconds: float = 0.0


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status,
        json.dumps(value).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )


class AwsError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def new_request_id() -> str:
    return str(uuid.uuid4())


def rest_json_error(error: AwsError, request_id: str) -> Response:
    # Backup's error shapes carry Code/Message/Type; Lambda's Type/Message. botocore takes the
    # code from the header and the message from `message` or `Message`.
    body = {
        "Code": error.code,
        "Message": error.message,
        "Type": "Server" if error.status >= 500 else "User",
    }
    return json_response(
        body,
        error.status,
        {"x-amzn-ErrorType": error.code, "x-amzn-RequestId": request_id},
    )


def query_error(error: AwsError, request_id: str, namespace: str) -> Response:
    kind = "Receiver" if error.status >= 500 else "Sender"
    body = (
        f'<ErrorResponse xmlns="{namespace}">'
        f"<Error><Type>{kind}</Type><Code>{escape(error.code)}</Code>"
        f"<Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return Response(
        error.status, body.encode(), {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
    )


@cache
def _service_model(service: str) -> Any:
    import botocore.session  # noqa: PLC0415 (the models load once, when first answered)

    return botocore.session.get_session().get_service_model(service)


def query_namespace(service: str) -> str:
    return str(_service_model(service).metadata["xmlNamespace"])


def query_response(
    service: str, operation: str, result: dict[str, Any], request_id: str
) -> Response:
    """`result` (the output shape's members) as the query protocol's XML answer."""
    model = _service_model(service).operation_model(operation)
    shape = model.output_shape
    members = "".join(_members(shape, result)) if shape is not None else ""
    wrapper = shape.serialization.get("resultWrapper") if shape is not None else None
    inner = f"<{wrapper}>{members}</{wrapper}>" if wrapper else members
    body = (
        f'<{operation}Response xmlns="{query_namespace(service)}">{inner}'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{operation}Response>"
    )
    return Response(
        200, body.encode(), {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
    )


def _members(shape: Any, value: dict[str, Any]) -> list[str]:
    unknown = set(value) - set(shape.members)
    if unknown:  # a stand-in bug: the answer would not be the model's
        raise KeyError(f"{shape.name} has no member {sorted(unknown)}")
    return [
        _element(member, value[name], member.serialization.get("name", name))
        for name, member in shape.members.items()
        if value.get(name) is not None
    ]


def _element(shape: Any, value: Any, tag: str) -> str:
    kind = shape.type_name
    if kind == "structure":
        inner = "".join(_members(shape, value))
    elif kind == "list":
        member = shape.member
        name = member.serialization.get("name", "member")
        inner = "".join(_element(member, item, name) for item in value)
    elif kind == "boolean":
        inner = "true" if value else "false"
    elif kind == "timestamp":
        inner = datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    else:
        inner = escape(str(value))
    return f"<{tag}>{inner}</{tag}>"
