"""DynamoDB: write the canary item (only over an older one) and read it back, consistently."""

from __future__ import annotations

import os
from typing import Any

from dr_health import canary
from dr_health.clients import client, error_code

# The write that keeps the canary moving forward: ISO 8601 UTC strings of one fixed format
# compare as their times do.
_NEWER_ONLY = f"attribute_not_exists({canary.WRITTEN_AT}) OR {canary.WRITTEN_AT} < :written"


def check() -> dict[str, Any]:
    return round_trip(client("dynamodb"), os.environ["TABLE_NAME"])


def round_trip(dynamodb: Any, table: str) -> dict[str, Any]:
    written = canary.now()
    key = {canary.DYNAMODB_KEY: {"S": canary.DYNAMODB_ITEM_ID}}
    value = {"S": canary.to_text(written)}
    try:
        dynamodb.put_item(
            TableName=table,
            Item={**key, canary.WRITTEN_AT: value},
            ConditionExpression=_NEWER_ONLY,
            ExpressionAttributeValues={":written": value},
        )
    except Exception as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise
        # A newer canary is already there (an overlapping run's): the read below judges it.
    item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item", {})
    read = item.get(canary.WRITTEN_AT, {}).get("S")
    stored = canary.confirm(written, None if read is None else canary.from_text(read))
    return {"canary": canary.to_text(stored)}
