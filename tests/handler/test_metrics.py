"""The metrics a report gives: what the alarm and dashboard select."""

from __future__ import annotations

from typing import Any

from dr_health.metrics import MetricSet, metric_sets


def report(**health: bool) -> dict[str, Any]:
    components = {
        name: {"healthy": ok, "latency_ms": 12.5 + index}
        for index, (name, ok) in enumerate(health.items())
    }
    return {"healthy": all(health.values()), "components": components}


def test_one_document_per_component_and_one_for_the_whole() -> None:
    assert metric_sets(report(dynamodb=True, s3=False)) == [
        MetricSet(
            {"Component": "dynamodb"},
            {"ComponentHealthy": (1, "Count"), "ComponentLatency": (12.5, "Milliseconds")},
        ),
        MetricSet(
            {"Component": "s3"},
            {"ComponentHealthy": (0, "Count"), "ComponentLatency": (13.5, "Milliseconds")},
        ),
        MetricSet({}, {"Healthy": (0, "Count")}),
    ]


def test_healthy_is_one_only_when_every_component_is() -> None:
    assert metric_sets(report(a=True, b=True))[-1].values == {"Healthy": (1, "Count")}
