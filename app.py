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

from pipeline.pipeline_stack import PipelineStack
from stages.compliance import register_checks, violations
from stages.config import AppConfig, ConfigError, load_config
from stages.dr_stage import DrStage

PACKAGE_JSON = Path(__file__).with_name("package.json")


@dataclass(frozen=True)
class Release:
    pipeline: PipelineStack
    stages: dict[str, DrStage]  # by config name: "dev", "prod"


def build(app: App, config: AppConfig, *, cli_version: str) -> Release:
    """Add every construct of the app to `app`: the DR stages and the pipeline that ships them."""
    stages = {
        stage.name: DrStage(app, stage.name.capitalize(), config=stage, pipeline=config.pipeline)
        for stage in config.stages
    }
    pipeline = PipelineStack(
        app,
        "Pipeline",
        config=config.pipeline,
        stages=list(stages.values()),
        cli_version=cli_version,
    )
    # For the app's own stack, the pipeline; each DR stage registers for its stacks itself.
    register_checks(app)
    return Release(pipeline=pipeline, stages=stages)


def pinned_cli_version() -> str:
    """The CDK CLI version package.json pins, so self-mutation runs the CLI we test with."""
    version: str = json.loads(PACKAGE_JSON.read_text())["devDependencies"]["aws-cdk"]
    return version


def config_from(context: Mapping[str, Any]) -> AppConfig:
    try:
        return load_config(context)
    except ConfigError as error:
        sys.exit(f"Invalid configuration: {error}")


def main() -> None:
    app = App()
    build(app, config_from(app.node.get_all_context()), cli_version=pinned_cli_version())
    found = violations(app.synth().directory)
    if found:
        print(
            "\n".join(["Validation violations (see validation-report.json):", *found]),
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
