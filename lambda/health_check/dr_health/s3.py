"""S3: replace the canary object (only if no other run replaced it meanwhile), read it back,
and check S3 stored it with SSE-KMS under the stage's own key."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from dr_health import canary
from dr_health.clients import client, error_code

# S3's answers to a conditional write that lost: the object changed since it was read (412),
# or another write to it was under way (409).
_LOST_RACE = ("PreconditionFailed", "ConditionalRequestConflict")


class CanaryEncryptionError(Exception):
    """The canary is not encrypted with SSE-KMS under the stage's key."""


def check() -> dict[str, Any]:
    key = os.environ["CANARY_OBJECT_KEY"]
    if key != canary.S3_OBJECT_KEY:  # the restore validator reads the contract's key
        raise canary.CanaryMismatchError(f"CANARY_OBJECT_KEY is {key!r}, not the contract's")
    return round_trip(client("s3"), os.environ["BUCKET_NAME"], key, os.environ["BUCKET_KEY_ARN"])


def round_trip(s3: Any, bucket: str, key: str, key_arn: str) -> dict[str, Any]:
    current = _get(s3, bucket, key)
    written = canary.now()
    # Compare-and-swap on the ETag: an overlapping run that wrote since the read above wins,
    # and its newer canary is not replaced by this older one.
    if current is None:
        _put(s3, bucket, key, written, IfNoneMatch="*")
    elif canary.from_s3_body(current["Body"].read()) < written:
        _put(s3, bucket, key, written, IfMatch=current["ETag"])
    stored = _get(s3, bucket, key)
    if stored is None:
        raise canary.CanaryMismatchError(f"no canary read back; wrote {canary.to_text(written)}")
    # The bucket's default encryption, under the stage's own key (not an AWS managed one).
    encryption = (stored.get("ServerSideEncryption"), stored.get("SSEKMSKeyId"))
    if encryption != ("aws:kms", key_arn):
        raise CanaryEncryptionError(
            f"object stored with {encryption[0]!r} under key {encryption[1]!r}, not aws:kms "
            "under the bucket's key"
        )
    confirmed = canary.confirm(written, canary.from_s3_body(stored["Body"].read()))
    return {"canary": canary.to_text(confirmed)}


def _put(s3: Any, bucket: str, key: str, written: datetime, **condition: str) -> None:
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=canary.s3_body(written), **condition)
    except Exception as error:
        if error_code(error) not in _LOST_RACE:
            raise
        # Another run wrote meanwhile: the read that follows judges its canary.


def _get(s3: Any, bucket: str, key: str) -> Any:
    try:
        return s3.get_object(Bucket=bucket, Key=key)
    except Exception as error:
        if error_code(error) == "NoSuchKey":
            return None
        raise
