"""DR stage health check: one real round trip to each data store, run concurrently.

The entry point, `handler.handler`; the checks and their rules live in the `dr_health`
package, one concern per module (see its docstring).

Environment (set by the stack): TABLE_NAME, BUCKET_NAME, BUCKET_KEY_ARN (the KMS key the
bucket must encrypt the canary with), DB_ENDPOINT, DB_READER_ENDPOINT, DB_PORT, DB_NAME,
DB_USER, CANARY_OBJECT_KEY, POWERTOOLS_SERVICE_NAME (the log lines' `service` and the
metrics' `service` dimension) and POWERTOOLS_METRICS_NAMESPACE; AWS_REGION and the
credentials come from the Lambda runtime. Powertools also honours POWERTOOLS_LOG_LEVEL
(default INFO), and POWERTOOLS_METRICS_DISABLED or POWERTOOLS_DEV, either of which, set to
true, stops the metrics (the stack sets none of them).

Each invocation returns the report (`statusCode` 200 only when every component is healthy,
else 503; it never raises for an unhealthy store) and prints to stdout, so to the function's
log group, one JSON log line (Powertools Logger, with the Lambda context), message "DR health
check", the report under `report`, level INFO when healthy and WARNING when not; and the
metrics (dr_health/metrics.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Powertools' package __init__ loads Logger, Metrics and Tracer whichever of its modules is
# imported, so no narrower import is cheaper; boto3 and pg8000 still load on first use.
from aws_lambda_powertools import Logger
from dr_health import database, dynamodb, metrics, s3
from dr_health.runner import Check, run_checks

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

CHECKS: dict[str, Check] = {
    "dynamodb": dynamodb.check,
    "s3": s3.check,
    "database_writer": database.check_writer,
    "database_reader": database.check_reader,
}

logger = Logger()  # service: POWERTOOLS_SERVICE_NAME


def _handle(event: object, context: LambdaContext) -> dict[str, Any]:
    report = run_checks(CHECKS)
    log = logger.info if report["healthy"] else logger.warning
    log("DR health check", extra={"report": report})
    metrics.publish(report)
    return report


# The entry point, `handler.handler`: Powertools adds the invocation's context (request id,
# cold start, function name, ARN and memory) to the log line. Wrapped rather than decorated
# because mypy sees Powertools untyped in the dev virtualenv and rejects untyped decorators.
handler = logger.inject_lambda_context(_handle)
