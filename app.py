#!/usr/bin/env python3
"""CDK app entry point: the only place that reads context or the environment."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from aws_cdk import App

from stages.compliance import violations
from stages.config import AppConfig, ConfigError, load_config
from stages.dr_stage import DrStage


def build(app: App, config: AppConfig) -> dict[str, DrStage]:
    """Add every construct of the app to `app`; returns the DR stages by name."""
    return {
        stage.name: DrStage(app, stage.name.capitalize(), config=stage) for stage in config.stages
    }


def config_from(context: Mapping[str, Any]) -> AppConfig:
    try:
        return load_config(context)
    except ConfigError as error:
        sys.exit(f"Invalid configuration: {error}")


def main() -> None:
    app = App()
    build(app, config_from(app.node.get_all_context()))
    found = violations(app.synth().directory)
    if found:
        print(
            "\n".join(["Validation violations (see validation-report.json):", *found]),
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
