"""The restore validator's entry point: `handler.handler` (handler.py re-exports it).

Invoked by an SQS event source mapping on the step queue (batch size 1), with `Records` whose
bodies are restore job events (forwarded by the EventBridge rule) or the validator's own step
messages (messages.py); records.py takes each. A record is done when the invocation returns:
it raises only when the record must be delivered again (its next step or its verdict could
not be sent), so SQS's redelivery, not this code, retries it.

Environment: see settings.py; also POWERTOOLS_SERVICE_NAME (the log's `service` and the
metrics' `service` dimension) and POWERTOOLS_METRICS_NAMESPACE (DisasterRecovery).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Powertools' package __init__ loads Logger and Metrics together whichever is imported: no
# narrower import is cheaper. boto3 and pg8000 still load on first use.
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from dr_restore.log import logger
from dr_restore.records import process
from dr_restore.validation import Services

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    records = event.get("Records") or []
    for record in records:
        process(str(record.get("body", "")), Services())
    return {"records": len(records)}


# JSON lines with the service name (POWERTOOLS_SERVICE_NAME) for the package's logger too;
# Powertools adds the invocation's context (request id, cold start, function name) to each.
# Wrapped rather than decorated: mypy sees Powertools untyped in the dev virtualenv and
# rejects untyped decorators.
_powertools = Logger()
copy_config_to_registered_loggers(source_logger=_powertools, include={logger.name})
handler = _powertools.inject_lambda_context(_handle)
