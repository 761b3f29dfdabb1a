"""In-memory stand-ins for the SDK clients the checks call, with the conditional-write
semantics the checks rely on, and a way to play another run writing in between."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from dr_health import canary

STAGE_KEY_ARN = "arn:aws:kms:us-east-1:111111111111:key/stage-key"


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


def shifted(seconds: float) -> str:
    """The contract's text form of now plus `seconds`."""
    return canary.to_text(canary.now() + timedelta(seconds=seconds))


class FakeTable:
    """PutItem with the checks' condition (`written_at < :written` or absent), GetItem."""

    def __init__(self, stored: str | None = None) -> None:
        self.stored = stored
        self.puts: list[dict[str, Any]] = []
        # Runs before each GetItem is answered: another run writing in between, say.
        self.before_get: Callable[[], None] = lambda: None

    def put_item(self, **request: Any) -> dict[str, Any]:
        self.puts.append(request)
        written = request["Item"][canary.WRITTEN_AT]["S"]
        assert request["ExpressionAttributeValues"] == {":written": {"S": written}}
        if self.stored is not None and not self.stored < written:
            raise client_error("ConditionalCheckFailedException", "PutItem")
        self.stored = written
        return {}

    def get_item(self, **request: Any) -> dict[str, Any]:
        assert request["ConsistentRead"] is True
        assert request["Key"] == {"id": {"S": canary.DYNAMODB_ITEM_ID}}
        self.before_get()
        if self.stored is None:
            return {}
        return {"Item": {"id": {"S": canary.DYNAMODB_ITEM_ID}, "written_at": {"S": self.stored}}}


class FakeBucket:
    """One object with ETags; PutObject honours IfMatch and IfNoneMatch as S3 does (412)."""

    def __init__(self, body: bytes | None = None, key_arn: str = STAGE_KEY_ARN) -> None:
        self.body = body
        self.key_arn = key_arn
        self.version = 0 if body is None else 1
        self.puts: list[dict[str, Any]] = []
        # Runs before each PutObject is applied: another run writing first, say.
        self.before_put: Callable[[], None] = lambda: None

    def write(self, written_at: str) -> None:
        """Another run's unconditional write."""
        self.body = json.dumps({"written_at": written_at}).encode()
        self.version += 1

    @property
    def etag(self) -> str:
        return f'"etag-{self.version}"'

    def put_object(self, **request: Any) -> dict[str, Any]:
        self.puts.append(request)
        self.before_put()
        if request.get("IfNoneMatch") == "*" and self.body is not None:
            raise client_error("PreconditionFailed", "PutObject")
        if "IfMatch" in request and (self.body is None or request["IfMatch"] != self.etag):
            raise client_error("PreconditionFailed", "PutObject")
        self.body = request["Body"]
        self.version += 1
        return {"ETag": self.etag}

    def get_object(self, **_: Any) -> dict[str, Any]:
        if self.body is None:
            raise client_error("NoSuchKey", "GetObject")
        return {
            "Body": io.BytesIO(self.body),
            "ETag": self.etag,
            "ServerSideEncryption": "aws:kms",
            "SSEKMSKeyId": self.key_arn,
        }


def database_error(code: str, message: str) -> Exception:
    """What pg8000 raises for a server ErrorResponse: DatabaseError(dict of its fields)."""

    class DatabaseError(Exception):
        pass

    return DatabaseError({"S": "ERROR", "V": "ERROR", "C": code, "M": message, "R": "x"})


def parse(text: str) -> datetime:
    return canary.from_text(text)
