"""The report's metrics in CloudWatch embedded metric format (EMF): printed to the log, so no
CloudWatch API call, in namespace POWERTOOLS_METRICS_NAMESPACE. `Healthy` (Count, 1 or 0)
with the one dimension `service`; per component `ComponentHealthy` (Count, 1 or 0) and
`ComponentLatency` (Milliseconds) with the dimensions `service` and `Component`. Powertools
adds `service` (POWERTOOLS_SERVICE_NAME) to each; the alarm and dashboard select on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MetricSet:
    """One EMF document: EMF applies every dimension set of a document to all its metrics, so
    metrics with different dimensions go in different documents."""

    dimensions: dict[str, str]
    values: dict[str, tuple[float, str]]  # name: (value, unit)


def metric_sets(report: dict[str, Any]) -> list[MetricSet]:
    per_component = [
        MetricSet(
            {"Component": name},
            {
                "ComponentHealthy": (int(component["healthy"]), "Count"),
                "ComponentLatency": (component["latency_ms"], "Milliseconds"),
            },
        )
        for name, component in report["components"].items()
    ]
    return [*per_component, MetricSet({}, {"Healthy": (int(report["healthy"]), "Count")})]


def publish(report: dict[str, Any]) -> None:
    # Loaded with the package when handler.py imports its Logger: no cost here.
    from aws_lambda_powertools.metrics import EphemeralMetrics

    for metric_set in metric_sets(report):
        metrics = EphemeralMetrics()
        if not metrics.service:  # the alarms select on it: fail loudly rather than emit without
            raise RuntimeError("POWERTOOLS_SERVICE_NAME is not set")
        for name, value in metric_set.dimensions.items():
            metrics.add_dimension(name=name, value=value)
        for name, (number, unit) in metric_set.values.items():
            metrics.add_metric(name=name, unit=unit, value=number)
        metrics.flush_metrics(raise_on_empty_metrics=True)
