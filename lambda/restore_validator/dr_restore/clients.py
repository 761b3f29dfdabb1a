"""The SDK clients: built on first use, reused by warm invocations.

Each call is bounded: 5 s to connect, 10 s per read, three attempts in all (standard retry
mode: throttling and transient errors, with backoff), so one invocation's calls end well
inside the function's timeout. Lambda's Invoke waits for the database reader, whose own
bounds (a cold start, 5 s to connect, 5 s per statement) pass 10 s: it gets READER_WAIT_S.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

# Past the reader function's 30 s timeout: the reader ends (and answers) first.
READER_WAIT_S = 40


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=5,
        read_timeout=READER_WAIT_S if service == "lambda" else 10,
        retries={"mode": "standard", "total_max_attempts": 3},
    )
    # AWS_REGION, which the runtime sets: botocore itself reads only AWS_DEFAULT_REGION.
    return boto3.client(service, region_name=os.environ["AWS_REGION"], config=config)
