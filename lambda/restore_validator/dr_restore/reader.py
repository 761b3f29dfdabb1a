"""The database reader: a restored database's newest canary, for a validator that runs outside
the VPC (its DB_READER_FUNCTION names this function). Same bundle, entry point
`handler.read_database`; it runs inside the stage's VPC, where restored clusters are
reachable, and calls no AWS API (the IAM token is signed locally), so it needs no endpoint.

Event: `{"host", "port"}`, the validation instance's endpoint. Answer: `{"writtenAt",
"readAt", "absent"}` (ISO 8601; writtenAt null when there is no canary, absent saying where
it was looked for), or `{"error": one line}` when it could not read: the validator makes that
its verdict's reason. Environment: DB_NAME, DB_USER, DB_CA_BUNDLE (a file in the bundle),
AWS_REGION.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dr_common import postgres, stores
from dr_common.errors import one_line
from dr_restore import clients, reading

BUNDLE_ROOT = Path(__file__).resolve().parents[1]


def read(event: Any, connect: reading.Connect = postgres.connect) -> dict[str, Any]:
    try:
        host, port = str(event["host"]), int(event["port"])
        database = reading.Database(
            name=os.environ["DB_NAME"],
            user=os.environ["DB_USER"],
            ca_file=str(BUNDLE_ROOT / os.environ["DB_CA_BUNDLE"]),
            region=os.environ["AWS_REGION"],
        )
        found = reading.read_postgres_at(
            clients.client("rds"), host, port, database, connect=connect, now=stores.utc_now
        )
    except Exception as error:
        return {"error": one_line(error)}
    written = found.written_at
    return {
        "writtenAt": None if written is None else written.isoformat(),
        "readAt": found.read_at.isoformat(),
        "absent": found.absent,
    }


def handler(event: Any, context: Any) -> dict[str, Any]:
    return read(event)
