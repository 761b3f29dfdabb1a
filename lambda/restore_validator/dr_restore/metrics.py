"""The verdict's metrics in CloudWatch embedded metric format (EMF): printed to the log, so no
CloudWatch call, in namespace POWERTOOLS_METRICS_NAMESPACE (DisasterRecovery), with the
dimensions `service` (POWERTOOLS_SERVICE_NAME) and `Store` (aurora, dynamodb or s3):

- RestoreValidated (Count): 1 for SUCCESSFUL, 0 for FAILED or a restore job that failed;
- RestoreRpoSeconds, RestoreRtoSeconds (Seconds): measured, when a canary was read;
- RestoreJobSeconds (Seconds): the restore job's own duration, when it completed.
"""

from __future__ import annotations

from dr_common.objectives import Measurement


def values(
    validated: bool, measurement: Measurement | None, job_seconds: float | None
) -> dict[str, tuple[float, str]]:
    found: dict[str, tuple[float, str]] = {"RestoreValidated": (int(validated), "Count")}
    if measurement is not None:
        spans = (("RestoreRpoSeconds", measurement.rpo), ("RestoreRtoSeconds", measurement.rto))
        for name, span in spans:
            if span is not None:
                found[name] = (span.total_seconds(), "Seconds")
    if job_seconds is not None:
        found["RestoreJobSeconds"] = (job_seconds, "Seconds")
    return found


def publish(store: str, job_id: str, found: dict[str, tuple[float, str]]) -> None:
    """One EMF document; the restore job's id rides along as a property (not a dimension),
    so Logs Insights finds a job's figures."""
    # Loaded with the package when dr_restore.log imported its Logger: no cost here.
    from aws_lambda_powertools.metrics import EphemeralMetrics

    metrics = EphemeralMetrics()
    if not metrics.service:  # the alarms select on it: fail loudly rather than emit without
        raise RuntimeError("POWERTOOLS_SERVICE_NAME is not set")
    metrics.add_dimension(name="Store", value=store)
    metrics.add_metadata(key="restoreJobId", value=job_id)
    for name, (number, unit) in found.items():
        metrics.add_metric(name=name, unit=unit, value=number)
    metrics.flush_metrics(raise_on_empty_metrics=True)
