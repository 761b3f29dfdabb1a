"""The pipeline as its template declares it: stages, actions and their run order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STACKS = ("Data", "Service")  # each stage's stacks, in deploy order


def pipeline_stages(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    [pipeline] = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    stages: list[dict[str, Any]] = pipeline["Properties"]["Stages"]
    return stages


def actions(template: Mapping[str, Any], stage_name: str) -> dict[str, dict[str, Any]]:
    stage = next(s for s in pipeline_stages(template) if s["Name"] == stage_name)
    return {action["Name"]: action for action in stage["Actions"]}


def category(action: dict[str, Any]) -> str:
    kind: str = action["ActionTypeId"]["Category"]
    return kind


def approval_problems(
    template: Mapping[str, Any], stage_id: str, needs_approval: bool
) -> list[str]:
    """For a stage: each stack's change set is created, then (when the stage needs a person)
    approved, then executed, Data before Service; the proof runs after every deploy."""
    found = actions(template, stage_id)
    order = {name: action["RunOrder"] for name, action in found.items()}
    problems = []
    approvals = {n for n, a in found.items() if category(a) == "Approval"}
    expected = (
        {f"{stack}.Approve{stack}" for stack in ("Data", "Service")} if needs_approval else set()
    )
    if approvals != expected:
        problems.append(f"{stage_id}: approvals {sorted(approvals)}, expected {sorted(expected)}")
    steps = [f"{stack}.{step}" for stack in STACKS for step in ("Prepare", "Deploy")]
    if needs_approval:
        steps = [
            step
            for stack in STACKS
            for step in (f"{stack}.Prepare", f"{stack}.Approve{stack}", f"{stack}.Deploy")
        ]
    steps.append("PostDeployTests")
    runs = [order.get(step, -1) for step in steps]
    if -1 in runs or runs != sorted(runs) or len(set(runs)) != len(runs):
        problems.append(f"{stage_id}: run order {dict(zip(steps, runs, strict=True))}")
    return problems
