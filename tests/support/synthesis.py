"""The behavioural tests' synthesis: the app built in-process from a fixed configuration that
lives with the tests (fixed_config.json), never from cdk.json's `dr` object, so they can assert
exact values whatever an adopting team commits. cdk.json's feature flags still apply."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Stack, Stage
from aws_cdk.assertions import Template

import app as cdk_app
from config import CONTEXT_KEY, AppConfig, load_config
from pipeline.pipeline_stack import PipelineStack
from stages.dr_stage import DrStage

ROOT = Path(__file__).resolve().parents[2]
FIXED_CONFIG = Path(__file__).with_name("fixed_config.json")


def cdk_context() -> dict[str, Any]:
    """The context the CDK CLI passes to the app: cdk.json's, feature flags included."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def fixed_dr() -> dict[str, Any]:
    dr: dict[str, Any] = json.loads(FIXED_CONFIG.read_text())
    return dr


def fixed_context(dr: dict[str, Any] | None = None) -> dict[str, Any]:
    """cdk.json's context with the fixed `dr` object (or the one given) in place of its own."""
    return {**cdk_context(), CONTEXT_KEY: copy.deepcopy(dr if dr is not None else fixed_dr())}


def stage_named(dr: dict[str, Any], name: str) -> dict[str, Any]:
    """One stage's object in a `dr` object, by name (to change it in a copy)."""
    stage: dict[str, Any] = next(s for s in dr["stages"] if s["name"] == name)
    return stage


@dataclass(frozen=True)
class Synthesis:
    outdir: Path
    config: AppConfig
    stages: dict[str, DrStage]  # by config name, in release order
    pipeline: PipelineStack
    stacks: dict[str, Stack]  # by stack name, e.g. "Dev-Data"
    templates: dict[str, Template]  # by stack name

    def template_file(self, stack_name: str) -> Path:
        stack = self.stacks[stack_name]
        # Each Stage (the App included) writes its own assembly directory.
        return Path(Stage.of(stack).outdir) / stack.template_file  # type: ignore[union-attr]

    @property
    def stage_stack_names(self) -> list[str]:
        return [s.stack_name for stage in self.stages.values() for s in (stage.data, stage.service)]


def synthesize(context: dict[str, Any], outdir: Path) -> Synthesis:
    """The whole app, as `cdk synth` builds it from this context (compliance gates included:
    in-process, a validation finding fails synth)."""
    config = load_config(context)
    # The CLI also asks for path and asset metadata; cfn-lint reads the paths (it knows what
    # CDK itself generates), and the asset paths lead to the bundled Lambda code.
    app = App(
        context={
            **context,
            "aws:cdk:enable-path-metadata": True,
            "aws:cdk:enable-asset-metadata": True,
        },
        outdir=str(outdir),
    )
    release = cdk_app.build(app, config, tools=cdk_app.pinned_tools())
    app.synth()
    stacks: dict[str, Stack] = {
        stack.stack_name: stack
        for stage in release.stages.values()
        for stack in (stage.data, stage.service)
    }
    stacks[release.pipeline.stack_name] = release.pipeline
    return Synthesis(
        outdir=outdir,
        config=config,
        stages=release.stages,
        pipeline=release.pipeline,
        stacks=stacks,
        templates={name: Template.from_stack(stack) for name, stack in stacks.items()},
    )


def fixed_dr_with(**overrides: Any) -> dict[str, Any]:
    """The fixed `dr` object with dotted overrides, `__` for the dots and a stage by name:
    `stages__prod__account="1"`; the value None deletes the key."""
    dr = fixed_dr()
    for path, value in overrides.items():
        *parents, last = path.split("__")
        node: Any = dr
        for part in parents:
            node = stage_named({"stages": node}, part) if isinstance(node, list) else node[part]
        if isinstance(node, list):
            index = node.index(stage_named({"stages": node}, last))
            if value is None:
                del node[index]
            else:
                node[index] = value
        elif value is None:
            del node[last]
        else:
            node[last] = value
    return dr


# The fixed configuration's stacks (its stages are dev and prod).
STAGE_STACK_NAMES = ("Dev-Data", "Dev-Service", "Prod-Data", "Prod-Service")
STACK_NAMES = (*STAGE_STACK_NAMES, "Pipeline")
