"""The DR health check's code, one concern per module (the entry point is `handler.py`).

- canary: the canaries' names and format, the contract a restore validator reads;
- dynamodb, s3, database: one round trip per store;
- clients: the SDK clients the checks share;
- runner: the checks run concurrently, reported within a deadline;
- late_write: no canary write once its invocation has reported, nor one that could end after;
- failures: what the report says about a failed check;
- redaction: secrets removed from every message;
- metrics: the CloudWatch metrics of a report.

Nothing here imports boto3, botocore or pg8000 at import time: they load on first use.
"""
