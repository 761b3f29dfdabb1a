#!/usr/bin/env python3
"""CDK app entry point: the only place that reads context or the environment."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App

from config import AppConfig, ConfigError, load_config
from pipeline.pipeline_stack import PipelineStack, ToolVersions
from stages.compliance import REPORT_FILE, register_checks, violations
from stages.dr_stage import DrStage

PACKAGE_JSON = Path(__file__).with_name("package.json")


@dataclass(frozen=True)
class Release:
    pipeline: PipelineStack
    stages: dict[str, DrStage]  # by config name, in release order: "dev", "prod"


def build(app: App, config: AppConfig, *, tools: ToolVersions) -> Release:
    """Add every construct of the app to `app`: the DR stages and the pipeline that ships them."""
    stages = {
        stage.name: DrStage(app, stage.stage_id, config=stage, pipeline=config.pipeline)
        for stage in config.stages
    }
    pipeline = PipelineStack(
        app,
        "Pipeline",
        config=config.pipeline,
        stages=list(stages.values()),
        tools=tools,
    )
    # For the app's own stack, the pipeline; each DR stage registers for its stacks itself.
    register_checks(app)
    return Release(pipeline=pipeline, stages=stages)


def pinned_tools() -> ToolVersions:
    """The npm packages package.json pins: self-mutation runs the CLI we test with, and asset
    publishing a known cdk-assets, not whatever is newest that day."""
    pinned: dict[str, str] = json.loads(PACKAGE_JSON.read_text())["devDependencies"]
    return ToolVersions(cdk_cli=pinned["aws-cdk"], cdk_assets=pinned["cdk-assets"])


def config_from(context: Mapping[str, Any]) -> AppConfig:
    try:
        return load_config(context)
    except ConfigError as error:
        sys.exit(f"Invalid configuration: {error}")


def main() -> None:
    app = App()
    build(app, config_from(app.node.get_all_context()), tools=pinned_tools())
    stop_on_findings(app.synth().directory)


def stop_on_findings(assembly: str | Path) -> None:
    """The CLI only writes validation findings to the report: print each (rule, construct
    path, what the rule requires) and fail."""
    found = violations(assembly)
    if found:
        report = Path(assembly) / REPORT_FILE
        print("\n".join([f"{len(found)} compliance violation(s):", *found]), file=sys.stderr)
        sys.exit(f"Synth stopped: fix or acknowledge each finding above (report: {report})")


if __name__ == "__main__":
    main()
